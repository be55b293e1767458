package experiments

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"iolab/results"
)

// The lessons (notebooks/*.md) promise that every command they give runs on
// a fresh clone and draws the charts they show. These tests hold them to
// it: every experiment a lesson runs exists and parses, every chart it
// links is one that experiment's matrix draws (named by Spec.Charts, that
// is, by the results package), every link into the repository leads
// somewhere, and every figure still to come is a well-formed placeholder,
// until the reference run it waits for is in.

const notebooks = "../notebooks"

// lesson is what the tests read out of one lesson.
type lesson struct {
	file     string
	text     string
	commands [][]string        // the command lines of its code blocks, split into words, comments dropped
	copies   map[string]string // my-X.yaml -> experiments/X.yaml, from its cp lines
	pending  []string          // experiment files it declares not merged yet
}

var (
	fence         = regexp.MustCompile("^\\s*```")
	pendingNote   = regexp.MustCompile(`<!--\s*pending:\s*(experiments/[^\s]+\.yaml)`)
	imageLink     = regexp.MustCompile(`!\[[^\]]*\]\(([^)\s]+)\)`)
	anyLink       = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	referenceDir  = regexp.MustCompile(`results/reference/([A-Za-z0-9_-]+)`)
	chartLink     = regexp.MustCompile(`^\.\./results/reference/([A-Za-z0-9_-]+)/([^/]+)\.png$`)
	placeholder   = regexp.MustCompile(`\{\{FIG: [^{}]*[^{}\s][^{}]*\}\}`)
	lessonFileRe  = regexp.MustCompile(`^\d\d-[a-z0-9-]+\.md$`)
	experimentArg = regexp.MustCompile(`\.ya?ml$`)
)

func readLessons(t *testing.T) []lesson {
	t.Helper()
	entries, err := os.ReadDir(notebooks)
	if err != nil {
		t.Fatal(err)
	}
	var out []lesson
	for _, e := range entries {
		if !lessonFileRe.MatchString(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(notebooks, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		l := lesson{file: e.Name(), text: string(b), copies: map[string]string{}}
		in := false
		for _, line := range strings.Split(l.text, "\n") {
			if fence.MatchString(line) {
				in = !in
				continue
			}
			if !in {
				continue
			}
			var words []string
			for _, w := range strings.Fields(line) {
				if strings.HasPrefix(w, "#") {
					break
				}
				words = append(words, w)
			}
			if len(words) == 0 {
				continue
			}
			l.commands = append(l.commands, words)
			if words[0] == "cp" && len(words) == 3 {
				l.copies[words[2]] = words[1]
			}
		}
		for _, m := range pendingNote.FindAllStringSubmatch(l.text, -1) {
			l.pending = append(l.pending, m[1])
		}
		out = append(out, l)
	}
	if len(out) < 7 {
		t.Fatalf("%d lessons in %s; the issue asks for at least seven", len(out), notebooks)
	}
	return out
}

// iolab returns the words after bin/iolab when the command runs it
// (directly or under taskset), or nil.
func iolab(words []string) []string {
	for i, w := range words {
		if w == "bin/iolab" {
			return words[i+1:]
		}
	}
	return nil
}

// runArg is the experiment file of `iolab run ...`, skipping the values of
// the flags that take one.
func runArg(args []string) string {
	for i := 1; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--dir" || a == "--results" || a == "--resume":
			i++
		case !strings.HasPrefix(a, "-") && experimentArg.MatchString(a):
			return a
		}
	}
	return ""
}

func TestLessons(t *testing.T) {
	specs := map[string]*Spec{}
	load := func(path string) (*Spec, error) {
		if s, ok := specs[path]; ok {
			return s, nil
		}
		s, err := LoadFile(filepath.Join("..", path))
		if err == nil {
			specs[path] = s
		}
		return s, err
	}
	for _, l := range readLessons(t) {
		t.Run(l.file, func(t *testing.T) {
			missing := map[string]bool{} // pending experiment files not merged yet
			for _, p := range l.pending {
				if _, err := os.Stat(filepath.Join("..", p)); err == nil {
					t.Errorf("%s is merged: remove the lesson's pending note", p)
				} else {
					missing[p] = true
					t.Run("pending", func(t *testing.T) {
						t.Skipf("%s is not merged yet: what depends on it is checked once it is", p)
					})
				}
			}
			// The commands: probe first; each experiment run exists and
			// parses, or is a copy of one that does.
			ran := map[string]bool{} // experiment names the lesson runs
			first := true
			for _, words := range l.commands {
				args := iolab(words)
				if len(args) == 0 {
					continue
				}
				if first && args[0] != "probe" {
					t.Errorf("the first iolab command is %q; every lesson starts with bin/iolab probe", strings.Join(words, " "))
				}
				first = false
				if args[0] != "run" {
					continue
				}
				file := runArg(args)
				if file == "" {
					t.Errorf("%q names no experiment file", strings.Join(words, " "))
					continue
				}
				if src, ok := l.copies[file]; ok {
					file = src // an exercise's edited copy: the original must be good
				}
				if !strings.HasPrefix(file, "experiments/") {
					t.Errorf("%q runs %s, which is neither under experiments/ nor a copy the lesson makes with cp", strings.Join(words, " "), file)
					continue
				}
				if missing[file] {
					continue
				}
				s, err := load(file)
				if err != nil {
					t.Errorf("%q: %v", strings.Join(words, " "), err)
					continue
				}
				if !slices.Contains(args, "--dry-run") && file == runArg(args) {
					ran[s.Name] = true // the original, really run: it draws the charts
				}
			}
			if len(ran) == 0 && len(missing) == 0 {
				t.Errorf("no command runs a shipped experiment (bin/iolab run experiments/NAME.yaml)")
			}
			pendingName := func(name string) bool { return missing["experiments/"+name+".yaml"] }

			// Every reference directory a command reads is one of the
			// lesson's experiments.
			for _, words := range l.commands {
				for _, m := range referenceDir.FindAllStringSubmatch(strings.Join(words, " "), -1) {
					if !ran[m[1]] && !pendingName(m[1]) {
						t.Errorf("%q reads results/reference/%s, but the lesson does not run experiments/%s.yaml", strings.Join(words, " "), m[1], m[1])
					}
				}
			}

			// Every chart shown is one its experiment draws.
			images := imageLink.FindAllStringSubmatch(l.text, -1)
			if len(images) == 0 {
				t.Error("the lesson shows no chart of the reference run")
			}
			for _, m := range images {
				c := chartLink.FindStringSubmatch(m[1])
				if c == nil {
					t.Errorf("image %s: charts are linked as ../results/reference/EXPERIMENT/CHART.png", m[1])
					continue
				}
				name, chart := c[1], c[2]
				if pendingName(name) {
					continue
				}
				if !ran[name] {
					t.Errorf("chart %s: the lesson does not run experiments/%s.yaml, so its command would not draw it", m[1], name)
					continue
				}
				charts, err := specs["experiments/"+name+".yaml"].Charts()
				if err != nil {
					t.Errorf("charts of %s: %v", name, err)
				}
				if !slices.Contains(charts, chart) {
					t.Errorf("chart %s: experiments/%s.yaml does not draw %s; of its kind it draws %s", m[1], name, chart, strings.Join(sameKind(chart, charts), ", "))
					continue
				}
				// Once the reference run is in, the chart must be too.
				dir := filepath.Join("..", "results", "reference", name)
				if _, err := os.Stat(filepath.Join(dir, "cells.jsonl")); err == nil {
					if _, err := os.Stat(filepath.Join(dir, chart+".png")); err != nil {
						t.Errorf("chart %s: the reference run is in %s but the chart is not (make charts draws it): %v", m[1], dir, err)
					}
				}
			}

			// Every other relative link leads to a file or directory.
			for _, m := range anyLink.FindAllStringSubmatch(l.text, -1) {
				target, _, _ := strings.Cut(m[1], "#")
				if target == "" || strings.Contains(target, "://") || chartLink.MatchString(target) {
					continue
				}
				if _, err := os.Stat(filepath.Join(notebooks, target)); err != nil {
					t.Errorf("link %s leads nowhere: %v", m[1], err)
				}
			}

			// Figures to come are placeholders of one form, so the lead
			// can find and fill every one.
			rest := placeholder.ReplaceAllString(l.text, "")
			if i := strings.Index(rest, "{{"); i >= 0 {
				t.Errorf("a placeholder not of the form {{FIG: what, from where}}: %q", rest[i:min(len(rest), i+60)])
			}
			if strings.Contains(rest, "}}") {
				t.Errorf("a stray }} outside a {{FIG: ...}} placeholder")
			}
			// Once the reference runs of the lesson's experiments are in,
			// every figure is a number read from them, not a promise.
			var absent []string
			for name := range ran {
				if _, err := os.Stat(filepath.Join("..", "results", "reference", name, "cells.jsonl")); err != nil {
					absent = append(absent, name)
				}
			}
			if len(absent) == 0 {
				for _, p := range placeholder.FindAllString(l.text, -1) {
					t.Errorf("the reference run is in, but a figure is still a placeholder (fill it from cells.jsonl): %s", p)
				}
			}
		})
	}
}

// sameKind lists the charts of names that are of chart's kind (all of
// them when its kind is unknown), for an error message of useful length.
func sameKind(chart string, names []string) []string {
	kind := ""
	for _, k := range results.Kinds {
		if strings.HasPrefix(chart, k+"-") && len(k) > len(kind) {
			kind = k
		}
	}
	var out []string
	for _, n := range names {
		if kind == "" || strings.HasPrefix(n, kind+"-") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return names
	}
	return out
}

// TestLessonIndex: the index lists every lesson, in order.
func TestLessonIndex(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(notebooks, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	index, at := string(b), -1
	for _, l := range readLessons(t) {
		i := strings.Index(index, "("+l.file+")")
		if i < 0 {
			t.Errorf("notebooks/README.md does not link %s", l.file)
			continue
		}
		if i < at {
			t.Errorf("notebooks/README.md lists %s out of order", l.file)
		}
		at = i
	}
}

// TestReferenceTracked: results/ is ignored for run directories, but the
// reference run must be committed.
func TestReferenceTracked(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git here to ask")
	}
	for _, path := range []string{"results/reference/sqpoll/cells.jsonl", "results/reference/sqpoll/rank-plaintext-c256-p1.png"} {
		cmd := exec.Command("git", "check-ignore", "-q", path)
		cmd.Dir = ".."
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			t.Errorf("%s is ignored by .gitignore: the reference results must be committed", path)
		case errors.As(err, &exit) && exit.ExitCode() == 1:
			// not ignored
		default:
			t.Skipf("git check-ignore: %v (not a git work tree?)", err)
		}
	}
}
