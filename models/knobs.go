package models

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// KnobKind is the type of a knob's value.
type KnobKind uint8

// Knob kinds.
const (
	KnobInt      KnobKind = iota // a decimal integer
	KnobSize                     // bytes: 4096, 16KiB, 8MiB (K, M, G also accepted)
	KnobDuration                 // a Go duration: 500ms, 10s, 1m
	KnobBool                     // on/off (also true/false, yes/no, 1/0)
	KnobEnum                     // one of Choices
)

func (k KnobKind) String() string {
	return [...]string{"int", "size", "duration", "bool", "enum"}[k]
}

// Knob is a tunable of a model: what the CLI's --knob, `iolab models` and
// the experiment matrix read.
type Knob struct {
	Name    string
	Kind    KnobKind
	Default string
	Doc     string
	// Min and Max bound Int and Size values, and Duration values in
	// nanoseconds. Max 0 means no upper bound.
	Min, Max int64
	// Choices are the values of an Enum.
	Choices []string
	// PowerOfTwo restricts an Int or Size to powers of two.
	PowerOfTwo bool
}

// Allowed describes the values the knob accepts, for errors and listings.
func (k Knob) Allowed() string {
	switch k.Kind {
	case KnobBool:
		return "on|off"
	case KnobEnum:
		return strings.Join(k.Choices, "|")
	}
	format := func(v int64) string {
		switch k.Kind {
		case KnobSize:
			return FormatSize(v)
		case KnobDuration:
			return time.Duration(v).String()
		}
		return strconv.FormatInt(v, 10)
	}
	s := format(k.Min) + ".."
	if k.Max > 0 {
		s += format(k.Max)
	}
	if k.PowerOfTwo {
		s = "a power of two in " + s
	}
	return s
}

// Parse checks s against the knob and returns its value.
func (k Knob) Parse(s string) (Value, error) {
	bad := func(what string) error {
		return fmt.Errorf("knob %s: %q is %s; allowed: %s", k.Name, s, what, k.Allowed())
	}
	switch k.Kind {
	case KnobBool:
		switch strings.ToLower(s) {
		case "on", "true", "yes", "1":
			return Value{n: 1, s: "on"}, nil
		case "off", "false", "no", "0":
			return Value{n: 0, s: "off"}, nil
		}
		return Value{}, bad("not on or off")
	case KnobEnum:
		for _, c := range k.Choices {
			if s == c {
				return Value{s: s}, nil
			}
		}
		return Value{}, bad("not a choice")
	}
	var n int64
	var err error
	switch k.Kind {
	case KnobInt:
		n, err = strconv.ParseInt(s, 10, 64)
		if err != nil {
			return Value{}, bad("not an integer")
		}
	case KnobSize:
		n, err = ParseSize(s)
		if err != nil {
			return Value{}, bad("not a size")
		}
	case KnobDuration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return Value{}, bad("not a duration")
		}
		n = int64(d)
	}
	if n < k.Min || k.Max > 0 && n > k.Max {
		return Value{}, bad("out of range")
	}
	if k.PowerOfTwo && n&(n-1) != 0 {
		return Value{}, bad("not a power of two")
	}
	return Value{n: n, s: s}, nil
}

// Value is a parsed knob value.
type Value struct {
	n int64  // Int, Size, Duration (ns), Bool (0/1)
	s string // as given (Enum: the choice; Bool: on/off)
}

// ParseSize reads a byte count: a plain number, or one with a K, M or G
// suffix (KiB, MiB, GiB and KB, MB, GB also accepted, all binary).
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			shift = 10
		case 'M':
			shift = 20
		case 'G':
			shift = 30
		}
	}
	if shift > 0 {
		t = t[:len(t)-1]
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, fmt.Errorf("invalid size %q", s)
	}
	return n << shift, nil
}

// FormatSize writes a byte count with the largest binary suffix that divides it.
func FormatSize(n int64) string {
	for _, u := range []struct {
		shift int
		name  string
	}{{30, "GiB"}, {20, "MiB"}, {10, "KiB"}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

// Values are the knob values of one model instance, every knob present
// (defaults filled in). A core reads them in Start.
type Values struct {
	knobs []Knob
	v     map[string]Value
}

// ParseKnobs applies "name=value" settings over the defaults of knobs. An
// unknown name, a repeated name, a missing "=" or a bad value is an error
// that names the knob and what it allows.
func ParseKnobs(knobs []Knob, settings []string) (Values, error) {
	vs := Values{knobs: knobs, v: make(map[string]Value, len(knobs))}
	for _, k := range knobs {
		v, err := k.Parse(k.Default)
		if err != nil {
			return Values{}, fmt.Errorf("default of %v", err) // a bug in a model's declaration
		}
		vs.v[k.Name] = v
	}
	seen := map[string]bool{}
	for _, s := range settings {
		name, val, ok := strings.Cut(s, "=")
		if !ok {
			return Values{}, fmt.Errorf("knob %q: want NAME=VALUE", s)
		}
		name = strings.TrimSpace(name)
		k, found := lookupKnob(knobs, name)
		if !found {
			return Values{}, fmt.Errorf("unknown knob %q; knobs: %s", name, knobNames(knobs))
		}
		if seen[name] {
			return Values{}, fmt.Errorf("knob %s given twice", name)
		}
		seen[name] = true
		v, err := k.Parse(strings.TrimSpace(val))
		if err != nil {
			return Values{}, err
		}
		vs.v[name] = v
	}
	return vs, nil
}

func lookupKnob(knobs []Knob, name string) (Knob, bool) {
	for _, k := range knobs {
		if k.Name == name {
			return k, true
		}
	}
	return Knob{}, false
}

func knobNames(knobs []Knob) string {
	names := make([]string, len(knobs))
	for i, k := range knobs {
		names[i] = k.Name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (vs Values) get(name string, kinds ...KnobKind) Value {
	k, ok := lookupKnob(vs.knobs, name)
	if !ok {
		panic("models: undeclared knob " + name) // a core reading a knob it did not declare
	}
	for _, kind := range kinds {
		if k.Kind == kind {
			return vs.v[name]
		}
	}
	panic("models: knob " + name + " is a " + k.Kind.String())
}

// Int returns an Int or Size knob.
func (vs Values) Int(name string) int { return int(vs.get(name, KnobInt, KnobSize).n) }

// Duration returns a Duration knob.
func (vs Values) Duration(name string) time.Duration {
	return time.Duration(vs.get(name, KnobDuration).n)
}

// Bool returns a Bool knob.
func (vs Values) Bool(name string) bool { return vs.get(name, KnobBool).n != 0 }

// Choice returns an Enum knob's choice.
func (vs Values) Choice(name string) string { return vs.get(name, KnobEnum).s }

// Map returns every knob's value as text, for records and reports.
func (vs Values) Map() map[string]string {
	m := make(map[string]string, len(vs.v))
	for _, k := range vs.knobs {
		v := vs.v[k.Name]
		switch k.Kind {
		case KnobSize:
			m[k.Name] = FormatSize(v.n)
		case KnobDuration:
			m[k.Name] = time.Duration(v.n).String()
		case KnobInt:
			m[k.Name] = strconv.FormatInt(v.n, 10)
		default:
			m[k.Name] = v.s
		}
	}
	return m
}
