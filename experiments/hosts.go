package experiments

import (
	"cmp"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Launchers, as hosts.launcher names them.
const (
	launchLocal = "local" // every process on this machine, on loopback
	launchNetns = "netns" // network namespaces on this machine, joined by veth pairs
	launchSSH   = "ssh"   // other machines, through plain ssh
)

// maxLoaders bounds hosts.loaders: each netns link takes a /30 of
// 10.201.0.0/16, numbered by the third octet.
const maxLoaders = 254

// Hosts is where an experiment's processes run when the load does not come
// from the runner's own process: a launcher, the server's host and one or
// more load generators' hosts. Each load generator is an `iolab load --json`
// started through the launcher; their results are merged into the cell's.
type Hosts struct {
	Launcher string // local, netns or ssh
	Server   Host
	Loaders  []Host
	// SSHOptions are ssh_config options given to every ssh (-o KEY=VALUE),
	// before iolab's own defaults, so that they win (ssh keeps the first
	// value it is given for each option).
	SSHOptions map[string]string
}

// Host is one host of Hosts. Which fields it may have depends on the
// launcher: ssh takes where and how to log in; netns takes the link's netem.
type Host struct {
	Dest     string // ssh: the destination, host or user@host
	User     string // ssh: -l
	Port     int    // ssh: -p
	Identity string // ssh: -i
	Iolab    string // ssh: the iolab binary there (default: iolab, from its PATH)
	Address  string // ssh server: where the load generators connect (default: Dest's host)
	Listen   string // ssh server: what it binds (default 0.0.0.0:0, any free port)
	Netem    *Netem // netns loader: delay and loss on its link, each way
}

// Netem is what tc netem adds to a netns link, on each end's egress: Delay
// (with Jitter) each way, so the round trip grows by twice Delay; Loss, a
// percentage, each way too.
type Netem struct {
	Delay  time.Duration
	Jitter time.Duration
	Loss   float64
}

// args are tc's words for n, after "netem".
func (n Netem) args() []string {
	var a []string
	if n.Delay > 0 {
		a = append(a, "delay", tcTime(n.Delay))
		if n.Jitter > 0 {
			a = append(a, tcTime(n.Jitter))
		}
	}
	if n.Loss > 0 {
		a = append(a, "loss", strconv.FormatFloat(n.Loss, 'f', -1, 64)+"%")
	}
	return a
}

func (n Netem) String() string { return strings.Join(n.args(), " ") }

// tcTime writes d in tc's units (Go writes µs, which tc does not read).
func tcTime(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatInt(d.Microseconds(), 10) + "us"
}

// hostField is a field of a host entry: which launchers and which role
// (server, loader) may give it.
type hostField struct {
	launcher string
	server   bool
	loader   bool
}

var hostFields = map[string]hostField{
	"host":     {launchSSH, true, true},
	"user":     {launchSSH, true, true},
	"port":     {launchSSH, true, true},
	"identity": {launchSSH, true, true},
	"iolab":    {launchSSH, true, true},
	"address":  {launchSSH, true, false},
	"listen":   {launchSSH, true, false},
	"netem":    {launchNetns, false, true},
}

// hosts reads the hosts field.
func (p parser) hosts(n *yaml.Node, out **Hosts) error {
	h := &Hosts{Launcher: launchLocal}
	if n.Kind != yaml.MappingNode {
		return p.err(n, "hosts", "want a mapping: launcher (local, netns or ssh), server and loaders")
	}
	// The launcher decides which fields the hosts may have, and may come
	// after them: read it first.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "launcher" {
			if err := p.choice(n.Content[i+1], "hosts.launcher", &h.Launcher, launchLocal, launchNetns, launchSSH); err != nil {
				return err
			}
		}
	}
	seen, err := p.fields(n, "hosts", map[string]func(*yaml.Node) error{
		"launcher": func(*yaml.Node) error { return nil },
		"server": func(v *yaml.Node) error {
			if h.Launcher != launchSSH {
				return p.err(v, "hosts.server", "only for launcher ssh: with %s the runner places the server itself", h.Launcher)
			}
			return p.host(v, "hosts.server", h.Launcher, true, &h.Server)
		},
		"loaders": func(v *yaml.Node) error { return p.loaders(v, h) },
		"ssh_options": func(v *yaml.Node) error {
			if h.Launcher != launchSSH {
				return p.err(v, "hosts.ssh_options", "only for launcher ssh")
			}
			return p.sshOptions(v, h)
		},
	})
	if err != nil {
		return err
	}
	if !seen["loaders"] {
		return p.err(n, "hosts.loaders", "missing; give the load generators: a number of them, or a list (with ssh, each `- host: NAME`)")
	}
	if h.Launcher == launchSSH && !seen["server"] {
		return p.err(n, "hosts.server", "missing; with launcher ssh, give the server's host: `server: {host: NAME}`")
	}
	*out = h
	return nil
}

// loaders reads hosts.loaders: a number of load generators, or a list of
// them with their fields.
func (p parser) loaders(n *yaml.Node, h *Hosts) error {
	if n.Kind == yaml.ScalarNode {
		if h.Launcher == launchSSH {
			return p.err(n, "hosts.loaders", "with launcher ssh, list each load generator's host: `- host: NAME`")
		}
		var count int
		if err := p.intRange(n, "hosts.loaders", &count, 1, maxLoaders); err != nil {
			return err
		}
		h.Loaders = make([]Host, count)
		return nil
	}
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 || len(n.Content) > maxLoaders {
		return p.err(n, "hosts.loaders", "want a number of load generators (1 to %d), or a list of them", maxLoaders)
	}
	for _, e := range n.Content {
		var l Host
		if err := p.host(e, "hosts.loaders", h.Launcher, false, &l); err != nil {
			return err
		}
		h.Loaders = append(h.Loaders, l)
	}
	return nil
}

// host reads one host entry, taking only the fields its launcher and role
// allow.
func (p parser) host(n *yaml.Node, field, launcher string, server bool, out *Host) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			f, known := hostFields[k.Value]
			switch {
			case !known:
			case f.launcher != launcher:
				return p.err(k, field+"."+k.Value, "only for launcher %s", f.launcher)
			case server && !f.server:
				return p.err(k, field+"."+k.Value, "only for load generators, not the server")
			case !server && !f.loader:
				return p.err(k, field+"."+k.Value, "only for the server, not load generators")
			}
		}
	}
	handlers := map[string]func(*yaml.Node) error{}
	add := func(name string, h func(v *yaml.Node, field string) error) {
		if f := hostFields[name]; f.launcher == launcher && (server && f.server || !server && f.loader) {
			handlers[name] = func(v *yaml.Node) error { return h(v, field+"."+name) }
		}
	}
	add("host", func(v *yaml.Node, f string) error { return p.sshWord(v, f, &out.Dest) })
	add("user", func(v *yaml.Node, f string) error { return p.sshWord(v, f, &out.User) })
	add("port", func(v *yaml.Node, f string) error { return p.intRange(v, f, &out.Port, 1, 65535) })
	add("identity", func(v *yaml.Node, f string) error { return p.nonEmpty(v, f, &out.Identity) })
	add("iolab", func(v *yaml.Node, f string) error { return p.nonEmpty(v, f, &out.Iolab) })
	add("address", func(v *yaml.Node, f string) error { return p.sshWord(v, f, &out.Address) })
	add("listen", func(v *yaml.Node, f string) error {
		if err := p.str(v, f, &out.Listen); err != nil {
			return err
		}
		if _, port, err := net.SplitHostPort(out.Listen); err != nil || port == "" {
			return p.err(v, f, "%q: want HOST:PORT, like 0.0.0.0:8080 (port 0: any free port)", out.Listen)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return p.err(v, f, "%q: the port is not 0..65535", out.Listen)
		}
		return nil
	})
	add("netem", func(v *yaml.Node, f string) error {
		out.Netem = &Netem{}
		return p.netem(v, f, out.Netem)
	})
	if len(handlers) == 0 {
		if n.Kind == yaml.MappingNode && len(n.Content) == 0 {
			return nil // `- {}`: a load generator with nothing to set
		}
		return p.err(n, field, "a %s host has no fields; give a number of load generators instead (loaders: 2)", launcher)
	}
	seen, err := p.fields(n, field, handlers)
	if err != nil {
		return err
	}
	if launcher == launchSSH {
		if !seen["host"] {
			return p.err(n, field+".host", "missing; the host to ssh to, like client1 or bench@10.0.0.2")
		}
		if out.User != "" && strings.Contains(out.Dest, "@") {
			return p.err(n, field+".user", "given twice: as user and in host %q; keep one", out.Dest)
		}
	}
	return nil
}

func (p parser) nonEmpty(n *yaml.Node, field string, out *string) error {
	if err := p.str(n, field, out); err != nil {
		return err
	}
	if strings.TrimSpace(*out) == "" {
		return p.err(n, field, "empty")
	}
	return nil
}

// sshWord reads a host or user name: one word that ssh cannot take for an
// option (a leading '-' would be read as one).
func (p parser) sshWord(n *yaml.Node, field string, out *string) error {
	if err := p.str(n, field, out); err != nil {
		return err
	}
	if *out == "" || strings.HasPrefix(*out, "-") || strings.ContainsAny(*out, " \t\r\n'\"\\") {
		return p.err(n, field, "%q: want a name or address without spaces, quotes, or a leading '-'", *out)
	}
	return nil
}

func (p parser) sshOptions(n *yaml.Node, h *Hosts) error {
	if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
		return p.err(n, "hosts.ssh_options", "want ssh_config options, like {StrictHostKeyChecking: accept-new, ProxyJump: bastion}")
	}
	h.SSHOptions = map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "hosts.ssh_options." + k.Value
		if k.Value == "" || strings.IndexFunc(k.Value, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) >= 0 {
			return p.err(k, field, "not an ssh_config keyword (letters and digits, like ConnectTimeout)")
		}
		if _, dup := h.SSHOptions[k.Value]; dup {
			return p.err(k, field, "given twice")
		}
		val, err := p.scalar(v, field)
		if err != nil {
			return err
		}
		if val == "" || strings.ContainsAny(val, "\r\n") {
			return p.err(v, field, "want a value on one line")
		}
		h.SSHOptions[k.Value] = val
	}
	return nil
}

func (p parser) netem(n *yaml.Node, field string, out *Netem) error {
	seen, err := p.fields(n, field, map[string]func(*yaml.Node) error{
		"delay":  func(v *yaml.Node) error { return p.linkTime(v, field+".delay", &out.Delay) },
		"jitter": func(v *yaml.Node) error { return p.linkTime(v, field+".jitter", &out.Jitter) },
		"loss": func(v *yaml.Node) error {
			s, err := p.scalar(v, field+".loss")
			if err != nil {
				return err
			}
			f, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
			if err != nil || f < 0 || f > 100 {
				return p.err(v, field+".loss", "%q: want a percentage from 0 to 100, like 0.1%%", s)
			}
			out.Loss = f
			return nil
		},
	})
	if err != nil {
		return err
	}
	if seen["jitter"] && out.Delay == 0 {
		return p.err(n, field+".jitter", "jitter varies the delay; give a delay too")
	}
	if out.Delay == 0 && out.Loss == 0 {
		return p.err(n, field, "adds nothing; give a delay (like 1ms) or a loss (like 0.1%%)")
	}
	return nil
}

// linkTime reads a netem time: 0 to 10s, to the microsecond (tc's unit).
func (p parser) linkTime(n *yaml.Node, field string, out *time.Duration) error {
	v, err := p.scalar(n, field)
	if err != nil {
		return err
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > 10*time.Second || d%time.Microsecond != 0 {
		return p.err(n, field, "%q: want a duration from 0 to 10s, to the microsecond, like 1ms or 250us", v)
	}
	*out = d
	return nil
}

// checkHosts applies the rules that join hosts to the rest of the file.
func (s *Spec) checkHosts(line map[string]int) error {
	h := s.Hosts
	if h == nil {
		return nil
	}
	n := len(h.Loaders)
	fail := func(field, format string, a ...any) error {
		return specError(s.File, line[field], field, format, a...)
	}
	if s.Loader != "builtin" {
		return fail("loader", "%s runs only in the runner's process; with hosts, the load generators are `iolab load` (loader: builtin)", s.Loader)
	}
	if h.Launcher != launchLocal {
		for _, r := range s.Rows {
			if r.Model == "" {
				return specError(s.File, r.line, "models."+r.Label, "an external server runs only on this machine; with launcher %s, compare iolab cores (or use launcher local)", h.Launcher)
			}
		}
	}
	if h.Launcher == launchSSH && s.CPUQuota > 0 {
		return fail("server_cpu_quota", "works only on this machine (the cgroup is made here); with launcher ssh, set it up on the server's host")
	}
	for _, d := range s.Sweep {
		if d.Name != "connections" {
			continue
		}
		for _, v := range d.Values {
			if c, _ := strconv.Atoi(v); c < n {
				return specError(s.File, d.line, "sweep.connections", "%s connections cannot be shared among %d load generators; give at least one each", v, n)
			}
		}
	}
	if _, swept := s.sweepOf("connections"); !swept && defaultConnections < n {
		return fail("hosts", "%d load generators need at least as many connections; sweep connections", n)
	}
	if s.Count > 0 && s.Count < int64(n) {
		return fail("requests", "%d requests cannot be shared among %d load generators", s.Count, n)
	}
	for _, w := range s.Workloads {
		// iolab load reads a value beginning with @ as a file's name.
		if strings.HasPrefix(w.Body, "@") || strings.HasPrefix(w.ExpectBody, "@") {
			return fail("hosts", "workload %s: a body or expect_body beginning with @ would be read as a file by `iolab load`", w.Test)
		}
		// The load generators are `iolab load` processes: what the runner
		// would make in its own memory does not reach them.
		if w.BodySize > 0 {
			return fail("hosts", "workload %s: body_size makes the body in the runner's process, which the load generators of hosts do not share; give the body as body:", w.Test)
		}
		if len(w.StaticFiles) > 0 && h.Launcher == launchSSH {
			return fail("hosts", "workload %s: static_files are made on this machine, which a server on another host cannot read", w.Test)
		}
	}
	return nil
}

func (s *Spec) sweepOf(name string) (Dimension, bool) {
	for _, d := range s.Sweep {
		if d.Name == name {
			return d, true
		}
	}
	return Dimension{}, false
}

// String says in a line where the processes run, for env.json and the report.
func (h *Hosts) String() string {
	switch h.Launcher {
	case launchNetns:
		var links []string
		for i, l := range h.Loaders {
			link := fmt.Sprintf("10.201.%d.0/30", i+1)
			if l.Netem != nil {
				link += " (netem " + l.Netem.String() + ")"
			}
			links = append(links, link)
		}
		return fmt.Sprintf("netns: the server and %d load generators in network namespaces of their own, joined by veth pairs %s", len(h.Loaders), strings.Join(links, ", "))
	case launchSSH:
		var names []string
		for _, l := range h.Loaders {
			names = append(names, l.Dest)
		}
		reach := cmp.Or(h.Server.Address, sshHostname(h.Server.Dest))
		return fmt.Sprintf("ssh: the server on %s (reached at %s), load generators on %s; the machine above is the runner's", h.Server.Dest, reach, strings.Join(names, ", "))
	}
	return fmt.Sprintf("local: %d load generator processes beside the server, on loopback", len(h.Loaders))
}
