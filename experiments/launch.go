package experiments

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// A launch is a run's hosts made concrete: how each of a cell's processes
// is started, where the server listens and how each load generator reaches
// it, and what must exist before the first cell (network namespaces and
// their links) and go after the last.
//
// The launcher only wraps command lines; everything else is the same on
// every host. The server is `iolab serve --control`, asked for its counters
// and CPU time on its stdin (see ServerSample), so the runner needs neither
// its pid nor its files; a load generator is `iolab load --json`, which says
// on stderr when its measured window begins and ends and prints its result,
// with the encoded latency histogram, on stdout. Nothing of iolab's own runs
// on a host but iolab: ssh and ip are what an operator already has.
type launch struct {
	kind    string // launchLocal, launchNetns or launchSSH; "" for no hosts: the load in the runner's process
	server  host
	loaders []host
	listen  string   // the server's --addr
	targets []string // per loader: the host (name or address) it connects to, at the server's port
	// reachable: the runner can reach the server itself (an HTTP check of
	// readiness; external servers).
	reachable bool
	steps     []step // made before the first cell, in order
	undo      [][]string
}

// host is where one process of a cell runs, as the runner reaches it.
type host struct {
	name   string   // in records and messages: "local", "netns iolab-4242-1-srv", "ssh bench@client1"
	prefix []string // the command that runs a command line there
	// remote: the command line crosses to another machine as one line for
	// its login shell, and a process there is stopped through the host (by
	// closing its stdin, or `kill PID` there), not by a signal from here.
	remote bool
	iolab  string // the iolab binary there
}

// command is argv as it runs on h.
func (h host) command(argv []string) []string {
	out := slices.Clone(h.prefix)
	if h.remote {
		// exec: the remote pid is the program's (what serve's banner
		// says), and its stdin is ssh's channel, with nothing between.
		return append(out, "exec "+shellJoin(argv))
	}
	return append(out, argv...)
}

// step is one command of a launch's set-up, and the one that undoes it.
type step struct {
	do, undo []string
}

// launchSeq tells apart the launches of one process (tests run several).
var launchSeq atomic.Int64

// newLaunch makes s's hosts concrete; self is the runner's iolab binary,
// the one every process on this machine runs.
func newLaunch(s *Spec, self string) *launch {
	h := s.Hosts
	local := host{name: "local", iolab: self}
	if h == nil {
		return &launch{server: local, listen: "127.0.0.1:0", reachable: true}
	}
	l := &launch{kind: h.Launcher}
	switch h.Launcher {
	case launchLocal:
		l.server, l.listen, l.reachable = local, "127.0.0.1:0", true
		for range h.Loaders {
			l.loaders = append(l.loaders, local)
			l.targets = append(l.targets, "127.0.0.1")
		}
	case launchNetns:
		l.netns(h, self, fmt.Sprintf("iolab-%d-%d", os.Getpid(), launchSeq.Add(1)))
	case launchSSH:
		l.server = sshHost(h.Server, h.SSHOptions)
		l.listen = cmp.Or(h.Server.Listen, "0.0.0.0:0")
		for _, lh := range h.Loaders {
			l.loaders = append(l.loaders, sshHost(lh, h.SSHOptions))
			l.targets = append(l.targets, cmp.Or(h.Server.Address, sshHostname(h.Server.Dest)))
		}
		// Before the first cell, every host is asked for its iolab: a
		// host that cannot be reached, or has no iolab, is one clear
		// error now rather than a failed cell each.
		for _, hh := range append([]host{l.server}, l.loaders...) {
			l.steps = append(l.steps, step{do: hh.command([]string{hh.iolab, "version"})})
		}
	}
	return l
}

// netns lays out the namespaces: the server in PREFIX-srv, load generator
// i (from 1) in PREFIX-ldI, each joined to the server's by a veth pair on
// 10.201.I.0/30, the server's end .1 (named ldI), the load generator's .2
// (named srv). The namespaces are private, so these addresses cannot meet
// any other network, and the pid in the prefix keeps parallel runs apart.
// Removing a namespace removes its ends of the links.
func (l *launch) netns(h *Hosts, self, prefix string) {
	srv := prefix + "-srv"
	l.server = host{name: "netns " + srv, prefix: []string{"ip", "netns", "exec", srv}, iolab: self}
	l.listen = "0.0.0.0:0" // every link's address
	add := func(ns string) {
		l.steps = append(l.steps,
			step{do: []string{"ip", "netns", "add", ns}, undo: []string{"ip", "netns", "delete", ns}},
			step{do: []string{"ip", "-n", ns, "link", "set", "lo", "up"}})
	}
	add(srv)
	for i, lh := range h.Loaders {
		n := strconv.Itoa(i + 1)
		ns, srvEnd, ldEnd := prefix+"-ld"+n, "ld"+n, "srv"
		srvAddr, ldAddr := "10.201."+n+".1", "10.201."+n+".2"
		add(ns)
		l.steps = append(l.steps,
			step{do: []string{"ip", "link", "add", "name", srvEnd, "netns", srv, "type", "veth", "peer", "name", ldEnd, "netns", ns}},
			step{do: []string{"ip", "-n", srv, "addr", "add", srvAddr + "/30", "dev", srvEnd}},
			step{do: []string{"ip", "-n", ns, "addr", "add", ldAddr + "/30", "dev", ldEnd}},
			step{do: []string{"ip", "-n", srv, "link", "set", srvEnd, "up"}},
			step{do: []string{"ip", "-n", ns, "link", "set", ldEnd, "up"}})
		if lh.Netem != nil {
			// netem shapes what leaves an interface: one on each end
			// makes the link the same both ways.
			for _, end := range [][2]string{{srv, srvEnd}, {ns, ldEnd}} {
				l.steps = append(l.steps, step{do: append([]string{"tc", "-n", end[0], "qdisc", "add", "dev", end[1], "root", "netem"}, lh.Netem.args()...)})
			}
		}
		l.loaders = append(l.loaders, host{name: "netns " + ns, prefix: []string{"ip", "netns", "exec", ns}, iolab: self})
		l.targets = append(l.targets, srvAddr)
	}
}

// sshHost is an ssh host. BatchMode: a password or host-key prompt fails
// the command instead of waiting for a terminal that is not there.
// ServerAlive: a host that stops answering ends the command within 30 s.
// `--` ends ssh's options, so that nothing after it is read as one.
func sshHost(h Host, options map[string]string) host {
	argv := []string{"ssh", "-T"}
	for _, k := range sortedKeys(options) { // first: ssh keeps the first value of each option
		argv = append(argv, "-o", k+"="+options[k])
	}
	argv = append(argv, "-o", "BatchMode=yes", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3")
	if h.User != "" {
		argv = append(argv, "-l", h.User)
	}
	if h.Port != 0 {
		argv = append(argv, "-p", strconv.Itoa(h.Port))
	}
	if h.Identity != "" {
		argv = append(argv, "-i", h.Identity)
	}
	argv = append(argv, "--", h.Dest)
	name := h.Dest
	if h.User != "" {
		name = h.User + "@" + h.Dest
	}
	return host{name: "ssh " + name, prefix: argv, remote: true, iolab: cmp.Or(h.Iolab, "iolab")}
}

// sshHostname is the host part of an ssh destination (user@host).
func sshHostname(dest string) string {
	if i := strings.LastIndexByte(dest, '@'); i >= 0 {
		return dest[i+1:]
	}
	return dest
}

// target is the address load generator i connects to, for a server that
// listens on port.
func (l *launch) target(i int, port string) string {
	return net.JoinHostPort(l.targets[i], port)
}

// prepare makes what the hosts need. What it made is undone by cleanup,
// also when a later step fails.
func (l *launch) prepare(ctx context.Context) error {
	if l.kind == launchNetns {
		if runtime.GOOS != "linux" {
			return errors.New("launcher netns: network namespaces are Linux only")
		}
		for _, tool := range []string{"ip", "tc"} {
			if _, err := exec.LookPath(tool); err != nil {
				return fmt.Errorf("launcher netns needs %s (Debian package iproute2)", tool)
			}
		}
	}
	for _, s := range l.steps {
		if err := runStep(ctx, s.do); err != nil {
			return fmt.Errorf("launcher %s: %w%s", l.kind, err, l.hint(s.do))
		}
		if s.undo != nil {
			l.undo = append(l.undo, s.undo)
		}
	}
	return nil
}

// hint says what a failed step usually means.
func (l *launch) hint(argv []string) string {
	switch {
	case len(argv) > 2 && argv[1] == "netns" && argv[2] == "add":
		return " (network namespaces need root, or CAP_SYS_ADMIN and CAP_NET_ADMIN)"
	case argv[0] == "tc":
		return " (netem needs the kernel's sch_netem: CONFIG_NET_SCH_NETEM)"
	case l.kind == launchSSH:
		return " (can this machine ssh there without a password, and is iolab installed there? see the README's Across machines over ssh)"
	}
	return ""
}

// cleanup undoes what prepare made, last first, whatever the run's fate:
// it runs on its own time, not the run's (which may have been cancelled).
func (l *launch) cleanup() error {
	var errs []error
	for i := len(l.undo) - 1; i >= 0; i-- {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		errs = append(errs, runStep(ctx, l.undo[i]))
		cancel()
	}
	l.undo = nil
	return errors.Join(errs...)
}

// runStep runs one command of the set-up, with its output in the error.
func runStep(ctx context.Context, argv []string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", shellJoin(argv), err, strings.TrimSpace(lastLines(string(out), 3)))
	}
	return nil
}

// describe writes the hosts for a plan: where each process runs and the
// set-up commands the run begins with.
func (l *launch) describe(w io.Writer) {
	if l.kind == "" {
		return
	}
	fmt.Fprintf(w, "  hosts: launcher %s; server on %s, listening on %s\n", l.kind, l.server.name, l.listen)
	for i, h := range l.loaders {
		fmt.Fprintf(w, "    load generator %d on %s, connecting to %s\n", i+1, h.name, l.target(i, "PORT"))
	}
	if len(l.steps) > 0 {
		fmt.Fprintln(w, "  before the first cell:")
		for _, s := range l.steps {
			fmt.Fprintf(w, "    %s\n", shellJoin(s.do))
		}
	}
	header := "  after the last (also when a cell fails or the run is interrupted):"
	for i := len(l.steps) - 1; i >= 0; i-- {
		if u := l.steps[i].undo; u != nil {
			if header != "" {
				fmt.Fprintln(w, header)
				header = ""
			}
			fmt.Fprintf(w, "    %s\n", shellJoin(u))
		}
	}
}

// shellJoin quotes argv for a POSIX shell.
func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}
