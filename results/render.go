package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
)

// Render makes everything derived in a run directory from its cells.jsonl,
// env.json and experiment.yaml alone: results.csv, bench.txt, every chart
// as PNG and SVG, and report.html. It is idempotent: the same data gives
// the same files, byte for byte, and charts a previous render made that
// the data no longer calls for are removed. A missing env.json or
// experiment.yaml, or no cells at all, is said in the report rather than
// failing; a cells.jsonl with a bad line in the middle is an error.
//
// The experiment runner calls it after a run; `iolab plot DIR` calls it
// on demand.
func Render(d *Dir) error {
	_, err := RenderFiles(d)
	return err
}

// RenderFiles is Render, returning the paths it wrote: report.html first,
// then each chart's PNG and SVG, then results.csv and bench.txt. When a
// chart cannot be drawn, the rest is still written and the error returned
// with the paths.
func RenderFiles(d *Dir) ([]string, error) {
	if st, err := os.Stat(d.Path); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("render: %s is not a directory; give a run directory", d.Path)
	}
	cells, err := d.Cells()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w (every file but cells.jsonl is made from it: fix or remove that line)", d.Path, err)
	}
	var charts, data []string
	write := func(list *[]string, name string, b []byte) error {
		if err := d.WriteFile(name, b); err != nil {
			return fmt.Errorf("render: writing %w", err)
		}
		// Dir.WriteFile goes through os.CreateTemp, which makes the file
		// 0600; what Render writes is for reading, by a web server or
		// another user as much as by whoever ran the experiment.
		if err := os.Chmod(d.File(name), 0o644); err != nil {
			return fmt.Errorf("render: %w", err)
		}
		*list = append(*list, d.File(name))
		return nil
	}

	var b bytes.Buffer
	if err := WriteCSV(&b, cells); err != nil {
		return nil, err
	}
	if err := write(&data, CSVFile, b.Bytes()); err != nil {
		return nil, err
	}
	b.Reset()
	if err := WriteBench(&b, cells); err != nil {
		return nil, err
	}
	if err := write(&data, BenchFile, b.Bytes()); err != nil {
		return nil, err
	}

	laid, chartErr := Charts(cells)
	var problems []error
	if chartErr != nil {
		problems = append(problems, chartErr)
	}
	var drawn []drawnChart
	keep := map[string]bool{}
	for _, c := range laid {
		png, err := c.PNG()
		if err != nil {
			problems = append(problems, err)
			continue
		}
		svg, err := c.SVG()
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if err := write(&charts, c.Name+".png", png); err != nil {
			return nil, err
		}
		if err := write(&charts, c.Name+".svg", svg); err != nil {
			return nil, err
		}
		keep[c.Name+".png"], keep[c.Name+".svg"] = true, true
		drawn = append(drawn, drawnChart{Chart: c, svg: svg})
	}

	html, err := buildReport(d, cells, drawn, problems).html()
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", d.Path, err)
	}
	var report []string
	if err := write(&report, ReportFile, html); err != nil {
		return nil, err
	}
	pruneCharts(d, keep)
	return append(append(report, charts...), data...), errors.Join(problems...)
}

// chartPrefixes are the beginnings of the names of the chart files Render
// writes, so that it can remove those it no longer makes and nothing else.
var chartPrefixes = Kinds

// pruneCharts removes chart files of an earlier render that this one did
// not make again (a sweep point renamed, a chart that no longer applies),
// so that the directory shows what the data says and nothing older.
func pruneCharts(d *Dir, keep map[string]bool) {
	entries, err := os.ReadDir(d.Path)
	if err != nil {
		return
	}
	for _, e := range entries {
		if name := e.Name(); !e.IsDir() && !keep[name] && isChartFile(name) {
			os.Remove(d.File(name))
		}
	}
}
