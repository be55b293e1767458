package models

import (
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"iolab/models/http1"
)

var testKnobs = []Knob{
	{Name: "loops", Kind: KnobInt, Default: "2", Min: 1, Max: 64, Doc: "loops"},
	{Name: "buf", Kind: KnobSize, Default: "4KiB", Min: 512, Max: 1 << 20, PowerOfTwo: true, Doc: "buffer"},
	{Name: "wait", Kind: KnobDuration, Default: "10ms", Min: int64(time.Microsecond), Doc: "wait"},
	{Name: "sqpoll", Kind: KnobBool, Default: "off", Doc: "sqpoll"},
	{Name: "trigger", Kind: KnobEnum, Default: "edge", Choices: []string{"edge", "level"}, Doc: "trigger"},
}

func TestParseKnobs(t *testing.T) {
	vs, err := ParseKnobs(testKnobs, []string{"loops=8", "buf=64KiB", "wait=250us", "sqpoll=on", "trigger=level"})
	if err != nil {
		t.Fatal(err)
	}
	if vs.Int("loops") != 8 || vs.Int("buf") != 64<<10 || vs.Duration("wait") != 250*time.Microsecond ||
		!vs.Bool("sqpoll") || vs.Choice("trigger") != "level" {
		t.Fatalf("values %v", vs.Map())
	}
	def, err := ParseKnobs(testKnobs, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"loops": "2", "buf": "4KiB", "wait": "10ms", "sqpoll": "off", "trigger": "edge"}
	for k, v := range want {
		if def.Map()[k] != v {
			t.Errorf("default %s = %q, want %q", k, def.Map()[k], v)
		}
	}
}

func TestParseKnobsErrors(t *testing.T) {
	cases := []struct {
		setting string
		want    []string // substrings of the error
	}{
		{"nope=1", []string{`unknown knob "nope"`, "buf, loops, sqpoll, trigger, wait"}},
		{"loops", []string{`"loops"`, "NAME=VALUE"}},
		{"loops=x", []string{"knob loops", "not an integer", "1..64"}},
		{"loops=0", []string{"knob loops", "out of range", "1..64"}},
		{"loops=65", []string{"out of range"}},
		{"buf=3000", []string{"knob buf", "not a power of two", "a power of two in 512..1MiB"}},
		{"buf=2MiB", []string{"out of range"}},
		{"buf=lots", []string{"not a size"}},
		{"wait=soon", []string{"knob wait", "not a duration", "1µs.."}},
		{"sqpoll=maybe", []string{"knob sqpoll", "on|off"}},
		{"trigger=both", []string{"knob trigger", "edge|level"}},
	}
	for _, c := range cases {
		_, err := ParseKnobs(testKnobs, []string{c.setting})
		if err == nil {
			t.Errorf("%s: accepted", c.setting)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.setting, err, w)
			}
		}
	}
	if _, err := ParseKnobs(testKnobs, []string{"loops=1", "loops=2"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("repeated knob: %v", err)
	}
}

func TestSizes(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "16KiB": 16 << 10, "16k": 16 << 10, "8MiB": 8 << 20,
		"8M": 8 << 20, "1GiB": 1 << 30, "2KB": 2048, "0": 0} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "K", "-1", "1.5K", "9999999999G", "12X"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	for in, want := range map[int64]string{0: "0", 1000: "1000", 4096: "4KiB", 3 << 20: "3MiB", 1 << 30: "1GiB", 1536: "1536"} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestCommonKnobsReachConfig(t *testing.T) {
	m := Model{Name: "x", Knobs: testKnobs}
	cfg, err := NewConfig(m, appEcho(t), []string{"idle_timeout=3s", "header_timeout=1s", "max_conns=7",
		"max_request_line=1KiB", "max_header_bytes=2KiB", "max_headers=9", "max_body=1MiB", "loops=3"})
	if err != nil {
		t.Fatal(err)
	}
	want := http1.Limits{MaxRequestLine: 1024, MaxHeaderBytes: 2048, MaxHeaders: 9, MaxBody: 1 << 20}
	if cfg.Limits != want || cfg.IdleTimeout != 3*time.Second || cfg.HeaderTimeout != time.Second ||
		cfg.MaxConns != 7 || cfg.Knobs.Int("loops") != 3 || cfg.AppName != "echo" {
		t.Fatalf("config %+v", cfg)
	}
	if _, err := NewConfig(m, appEcho(t), []string{"max_body=0"}); err == nil || !strings.Contains(err.Error(), "model x: knob max_body") {
		t.Fatalf("bad common knob: %v", err)
	}
}

func TestRegistry(t *testing.T) {
	if _, err := Lookup("no-such-model"); err == nil || !strings.Contains(err.Error(), "known:") {
		t.Fatalf("Lookup error: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a knob whose default its declaration rejects was registered")
		}
	}()
	Register(Model{Name: "broken", Knobs: []Knob{{Name: "n", Kind: KnobInt, Default: "0", Min: 1}}})
}

func TestStatsJSON(t *testing.T) {
	var s Stats
	s.Counters[Accepted] = 5
	s.Counters[Closed] = 2
	s.Counters[ParseError(http1.KindObsFold)] = 1
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]uint64
	json.Unmarshal(b, &m)
	if m["open"] != 3 || m["accepted"] != 5 || m["parse_error_obs_fold"] != 1 || len(m) != int(NumCounters)+1 {
		t.Fatalf("json %s", b)
	}
	var back Stats
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	var text strings.Builder
	s.WriteText(&text)
	if !strings.Contains(text.String(), "parse_error_obs_fold") || strings.Contains(text.String(), "bytes_in") {
		t.Fatalf("text lists zero counters or misses one:\n%s", text.String())
	}
	seen := map[string]bool{}
	for c := Counter(0); c < NumCounters; c++ {
		if c.Name() == "" || seen[c.Name()] {
			t.Fatalf("counter %d has a missing or repeated name %q", c, c.Name())
		}
		seen[c.Name()] = true
		if back, ok := CounterByName(c.Name()); !ok || back != c {
			t.Fatalf("CounterByName(%q)", c.Name())
		}
	}
}

func TestMeter(t *testing.T) {
	m := NewMeter(3)
	done := make(chan bool)
	for i := range 3 {
		go func() {
			var c Counters
			for range 1000 {
				c[Requests]++
				c.CountStatus(200)
				m.Publish(i, &c)
			}
			done <- true
		}()
	}
	for range 3 {
		<-done
	}
	if st := m.Stats(); st.Get(Requests) != 3000 || st.Get(Status2xx) != 3000 {
		t.Fatalf("stats %d %d", st.Get(Requests), st.Get(Status2xx))
	}
}

// A raw wait keeps its P: only loops that each have one, with nothing else
// carrying requests, may wait that way.
func TestRawWaitAllowed(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	inline := Config{}
	offload := Config{Offload: &Pool{}}
	for _, c := range []struct {
		name     string
		cfg      *Config
		acceptor bool
		loops    int
		want     bool
	}{
		{"reuseport loops, one P each", &inline, false, 2, true},
		{"fewer loops than Ps", &inline, false, 1, true},
		{"more loops than Ps", &inline, false, 3, false},
		{"beside an acceptor", &inline, true, 1, false},
		{"beside offloaded handlers", &offload, false, 1, false},
	} {
		if got := RawWaitAllowed(c.cfg, c.acceptor, c.loops); got != c.want {
			t.Errorf("%s: RawWaitAllowed = %v, want %v", c.name, got, c.want)
		}
	}
}

// A core ends once, with the first error, and Err says nothing before.
func TestEnding(t *testing.T) {
	var e Ending
	done := e.Done()
	if e.Err() != nil {
		t.Fatal("an error before the end")
	}
	select {
	case <-done:
		t.Fatal("done before the end")
	default:
	}
	first := errors.New("first")
	e.Finish(first)
	e.Finish(errors.New("second"))
	<-done
	if e.Err() != first {
		t.Fatalf("ended on %v, want the first error", e.Err())
	}
}
