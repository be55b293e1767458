package experiments

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"iolab/results"
)

// progress shows the run: with bars (overall and for the cell in progress,
// each with its ETA) on a terminal, one line per cell otherwise.
type progress struct {
	out      io.Writer
	total    int
	finished int
	bars     *mpb.Progress
	overall  *mpb.Bar
	cell     *mpb.Bar
	cellStop chan struct{}
	cellLen  time.Duration
}

func newProgress(r *Runner, total, done int) *progress {
	p := &progress{out: r.Out, total: total, finished: done, cellLen: r.Spec.Warmup + r.Spec.Duration + perCellOverhead}
	if p.out == nil {
		p.out = io.Discard
	}
	if r.Bars {
		p.bars = mpb.New(mpb.WithOutput(p.out), mpb.WithWidth(40), mpb.WithRefreshRate(200*time.Millisecond))
		p.overall = p.bars.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name(r.Spec.Name+" ", decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d cells", decor.WCSyncSpace)),
			mpb.AppendDecorators(decor.Name("ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
		p.overall.SetCurrent(int64(done))
		p.overall.DecoratorAverageAdjust(time.Now())
	}
	if done > 0 {
		p.note("resuming: %d of %d cells already done", done, total)
	}
	return p
}

func (p *progress) note(format string, a ...any) {
	msg := fmt.Sprintf(format, a...) + "\n"
	if p.bars != nil {
		p.bars.Write([]byte(msg))
		return
	}
	io.WriteString(p.out, msg)
}

func (p *progress) start(c Planned) {
	if p.bars == nil {
		return
	}
	total := p.cellLen.Milliseconds()
	p.cell = p.bars.AddBar(total, mpb.BarRemoveOnComplete(),
		mpb.PrependDecorators(decor.Name(describe(c), decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Name("ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
	p.cellStop = make(chan struct{})
	bar, stop, began := p.cell, p.cellStop, time.Now()
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				bar.SetCurrent(min(time.Since(began).Milliseconds(), total-1))
			}
		}
	}()
}

func (p *progress) done(c results.Cell) {
	p.finished++
	line := fmt.Sprintf("[%d/%d] %s: %s", p.finished, p.total, strings.TrimPrefix(c.Key, "row="), summarize(c))
	if p.bars == nil {
		io.WriteString(p.out, line+"\n")
		return
	}
	close(p.cellStop)
	p.cell.SetTotal(-1, true)
	p.overall.Increment()
	p.bars.Write([]byte(line + "\n"))
}

func (p *progress) finish() {
	if p.bars != nil {
		if p.cell != nil && !p.cell.Completed() {
			p.cell.Abort(true)
		}
		p.overall.Abort(false)
		p.bars.Wait()
	}
}

func describe(c Planned) string {
	parts := []string{c.Row.Label}
	keys := make([]string, 0, len(c.Sweep))
	for k := range c.Sweep {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+c.Sweep[k])
	}
	return strings.Join(parts, " ")
}

// summarize says in a few words what a cell measured.
func summarize(c results.Cell) string {
	switch c.Status {
	case results.StatusSkipped:
		return "skipped: " + c.Reason
	case results.StatusFailed:
		return "FAILED: " + c.Reason
	}
	s := fmt.Sprintf("%.0f req/s, server %.3f µs/req, client %.3f µs/req, p99 %.0f µs", c.RPS, c.ServerCPUUsPerReq, c.ClientCPUUsPerReq, c.Latency.P99)
	if n := c.ErrorCount(); n > 0 {
		s += fmt.Sprintf(", %d errors", n)
	}
	return s
}
