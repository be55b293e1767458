package main

import (
	"bytes"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCompare: uring gets clearly faster from one run to the next, epoll
// does not move.
func TestCompareCmd(t *testing.T) {
	epoll := []float64{600e3, 604e3, 598e3, 601e3, 603e3, 599e3}
	old := writeTestRun(t, map[string][]float64{"epoll": epoll, "uring": {700e3, 702e3, 698e3, 701e3, 699e3, 703e3}})
	cur := writeTestRun(t, map[string][]float64{"epoll": epoll, "uring": {800e3, 805e3, 798e3, 802e3, 799e3, 801e3}})
	var out, errOut bytes.Buffer
	if code := run([]string{"compare", old, cur}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	s := out.String()
	if !strings.HasPrefix(s, "old: "+old+" (experiment demo, 24 cells)\nnew: "+cur) {
		t.Errorf("header:\n%s", s)
	}
	if !regexp.MustCompile(`plaintext/row=uring/connections=256\s+700k ±\S+\s+800k ±\S+\s+\+14\.\d\d%\s+p=0\.002 n=6`).MatchString(s) {
		t.Errorf("uring's change is not significant:\n%s", s)
	}
	if !regexp.MustCompile(`plaintext/row=epoll/connections=256\s+600k ±\S+\s+600k ±\S+\s+~\s+p=1\.000 n=6`).MatchString(s) {
		t.Errorf("epoll's steady requests/s are not ~:\n%s", s)
	}
}

func TestCompareCmdErrors(t *testing.T) {
	run1 := writeTestRun(t, map[string][]float64{"epoll": {1}})
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"compare", run1}, "accepts 2 arg"},
		{[]string{"compare", run1, filepath.Join(t.TempDir(), "nope")}, "no such directory"},
		{[]string{"compare", "--alpha", "1.5", run1, run1}, "--alpha 1.5: want a significance level between 0 and 1"},
	}
	for _, c := range cases {
		var errOut bytes.Buffer
		code := run(c.args, io.Discard, &errOut)
		msg := errOut.String()
		if code != exitUsage || !strings.Contains(msg, c.want) || strings.Count(msg, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and one line with %q", c.args, code, msg, exitUsage, c.want)
		}
	}
}
