package experiments

import (
	"math"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"iolab/loadgen"
)

// hostsSample is good with a hosts section appended.
func hostsSample(hosts string) string {
	return strings.Replace(good, "repeat: 2\n", "repeat: 2\n"+hosts, 1)
}

const netnsHosts = `hosts:
  loaders:
    - {}
    - netem: {delay: 1500us, jitter: 100us, loss: 0.1%}
  launcher: netns
`

const sshHosts = `hosts:
  launcher: ssh
  server: {host: bench@server1, iolab: /opt/iolab/bin/iolab, address: 10.0.0.5, listen: "0.0.0.0:8080"}
  loaders:
    - {host: client1, user: lab, port: 2222, identity: ~/.ssh/lab}
    - host: client2
  ssh_options: {StrictHostKeyChecking: accept-new, ConnectTimeout: "5"}
`

func TestParseHosts(t *testing.T) {
	s, err := Parse("sample.yaml", []byte(strings.Replace(hostsSample(netnsHosts+"requests: 1000\n"), "warmup: 500ms", "warmup: 0s", 1)))
	if err != nil {
		t.Fatal(err)
	}
	h := s.Hosts
	if h.Launcher != launchNetns || len(h.Loaders) != 2 || h.Loaders[0].Netem != nil ||
		*h.Loaders[1].Netem != (Netem{Delay: 1500 * time.Microsecond, Jitter: 100 * time.Microsecond, Loss: 0.1}) {
		t.Fatalf("%+v", h)
	}
	if s.Count != 1000 || s.Duration != 2*time.Second || s.Warmup != 0 {
		t.Fatalf("count %d, duration %v, warmup %v", s.Count, s.Duration, s.Warmup)
	}
	cells := s.Expand()
	if !cells[0].Drained || cells[0].Count != 1000 {
		t.Fatalf("a count without warm-up is drained: %+v", cells[0])
	}

	s, err = Parse("sample.yaml", []byte(hostsSample(sshHosts)))
	if err != nil {
		t.Fatal(err)
	}
	h = s.Hosts
	if h.Server.Dest != "bench@server1" || h.Server.Address != "10.0.0.5" || h.Server.Listen != "0.0.0.0:8080" ||
		h.Loaders[0].Port != 2222 || h.Loaders[0].User != "lab" || h.Loaders[1].Dest != "client2" ||
		h.SSHOptions["ConnectTimeout"] != "5" || s.Expand()[0].Drained {
		t.Fatalf("%+v", h)
	}

	s, err = Parse("sample.yaml", []byte(hostsSample("hosts: {loaders: 3}\nrequests: 90\n")))
	if err != nil {
		t.Fatal(err)
	}
	if s.Hosts.Launcher != launchLocal || len(s.Hosts.Loaders) != 3 || s.Duration != 2*time.Second || s.Expand()[0].Drained {
		t.Fatalf("%+v (a count after a warm-up is not drained)", s.Hosts)
	}
	if s, err := Parse("sample.yaml", []byte(strings.Replace(good, "duration: 2s\n", "requests: 50\n", 1))); err != nil || s.Duration != time.Minute {
		t.Fatalf("a count without a duration is bounded by a minute: %v %v", s.Duration, err)
	}
}

// TestParseHostsErrors: each mistake names the line, the field and the fix.
func TestParseHostsErrors(t *testing.T) {
	cases := []struct {
		name, hosts string
		want        []string
	}{
		{"netem with ssh", "hosts:\n  launcher: ssh\n  server: {host: a}\n  loaders:\n    - {host: b, netem: {delay: 1ms}}\n",
			[]string{":22:", "hosts.loaders.netem", "only for launcher netns"}},
		{"host with netns", "hosts:\n  launcher: netns\n  loaders:\n    - host: b\n", []string{":21:", "hosts.loaders.host", "only for launcher ssh"}},
		{"address of a loader", "hosts:\n  launcher: ssh\n  server: {host: a}\n  loaders:\n    - {host: b, address: c}\n",
			[]string{"hosts.loaders.address", "only for the server"}},
		{"no loaders", "hosts:\n  launcher: netns\n", []string{":19:", "hosts.loaders", "missing"}},
		{"ssh without server", "hosts:\n  launcher: ssh\n  loaders: [{host: b}]\n", []string{"hosts.server", "missing", "server: {host: NAME}"}},
		{"ssh loader count", "hosts:\n  launcher: ssh\n  server: {host: a}\n  loaders: 2\n", []string{":21:", "hosts.loaders", "- host: NAME"}},
		{"ssh loader without host", "hosts:\n  launcher: ssh\n  server: {host: a}\n  loaders: [{user: x}]\n", []string{"hosts.loaders.host", "missing"}},
		{"server with netns", "hosts:\n  launcher: netns\n  server: {}\n  loaders: 2\n", []string{":20:", "hosts.server", "only for launcher ssh"}},
		{"unknown launcher", "hosts:\n  launcher: docker\n  loaders: 2\n", []string{":19:", "hosts.launcher", `"docker"`, "local, netns, ssh"}},
		{"unknown field", "hosts:\n  loaders: 2\n  servers: 1\n", []string{":20:", "servers", "unknown field in hosts", "loaders"}},
		{"too many loaders", "hosts:\n  loaders: 300\n", []string{"hosts.loaders", "1 to 254"}},
		{"option-like host", "hosts:\n  launcher: ssh\n  server: {host: -oProxyCommand=x}\n  loaders: [{host: b}]\n",
			[]string{"hosts.server.host", "leading '-'"}},
		{"bad port", "hosts:\n  launcher: ssh\n  server: {host: a, port: 70000}\n  loaders: [{host: b}]\n", []string{"hosts.server.port", "1 to 65535"}},
		{"bad listen", "hosts:\n  launcher: ssh\n  server: {host: a, listen: 8080}\n  loaders: [{host: b}]\n", []string{"hosts.server.listen", "HOST:PORT"}},
		{"user twice", "hosts:\n  launcher: ssh\n  server: {host: x@a, user: y}\n  loaders: [{host: b}]\n", []string{"hosts.server.user", "given twice"}},
		{"bad ssh option", "hosts:\n  launcher: ssh\n  server: {host: a}\n  loaders: [{host: b}]\n  ssh_options: {\"-F\": x}\n",
			[]string{"hosts.ssh_options.-F", "ssh_config keyword"}},
		{"ssh options for netns", "hosts:\n  launcher: netns\n  loaders: 1\n  ssh_options: {A: b}\n", []string{"hosts.ssh_options", "only for launcher ssh"}},
		{"jitter alone", "hosts:\n  launcher: netns\n  loaders:\n    - netem: {jitter: 1ms}\n", []string{"netem.jitter", "give a delay too"}},
		{"bad loss", "hosts:\n  launcher: netns\n  loaders:\n    - netem: {loss: lots}\n", []string{"netem.loss", "percentage"}},
		{"empty netem", "hosts:\n  launcher: netns\n  loaders:\n    - netem: {}\n", []string{"netem", "adds nothing"}},
		{"nanosecond delay", "hosts:\n  launcher: netns\n  loaders:\n    - netem: {delay: 1500ns}\n", []string{"netem.delay", "to the microsecond"}},
		{"fields for local", "hosts:\n  loaders:\n    - {netem: {delay: 1ms}}\n", []string{"hosts.loaders.netem", "only for launcher netns"}},
		{"fewer connections than loaders", "hosts:\n  launcher: netns\n  loaders: 32\n", []string{":13:", "sweep.connections", "16 connections", "32 load generators"}},
		{"wrk with hosts", "loader: wrk\nhosts: {loaders: 2}\n", []string{":17:", "loader", "with hosts", "loader: builtin"}},
		{"quota over ssh", "server_cpu_quota: 0.5\nhosts:\n  launcher: ssh\n  server: {host: a}\n  loaders: [{host: b}]\n",
			[]string{":18:", "server_cpu_quota", "only on this machine"}},
		{"count below loaders", "requests: 2\nhosts: {loaders: 3}\n", []string{":18:", "requests", "3 load generators"}},
		{"bad count", "requests: many\n", []string{":18:", "requests", "whole number"}},
		{"count with wrk", "requests: 100\nloader: wrk\n", []string{":17:", "requests", "cannot stop at a count"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := hostsSample(c.hosts)
			if strings.Contains(c.hosts, "loader: wrk") { // wrk checks no bodies
				src = strings.Replace(src, "  expect_body: \"Hello, World!\"\n", "", 1)
			}
			_, err := Parse("sample.yaml", []byte(src))
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "sample.yaml:") {
				t.Errorf("error %q: not one line naming the file", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
	ext := strings.Replace(good, "  - model: epoll\n    knobs: {loops: 1}", "  - external: nginx\n    command: nginx -p {port}\n    ready: http://127.0.0.1:{port}/", 1)
	ext = strings.Replace(ext, "  pipeline: [1, 16]\n", "", 1)
	_, err := Parse("sample.yaml", []byte(strings.Replace(ext, "repeat: 2\n", "repeat: 2\nhosts: {launcher: netns, loaders: 2}\n", 1)))
	if err == nil || !strings.Contains(err.Error(), ":8: models.nginx: an external server runs only on this machine") {
		t.Fatalf("external row over netns: %v", err)
	}
}

// TestNetnsLaunch: the namespaces, links and netem a netns launch makes,
// unique per launch, and what undoes them, last first.
func TestNetnsLaunch(t *testing.T) {
	s, err := Parse("sample.yaml", []byte(hostsSample(netnsHosts)))
	if err != nil {
		t.Fatal(err)
	}
	a, b := newLaunch(s, "/bin/iolab"), newLaunch(s, "/bin/iolab")
	if a.server.name == b.server.name {
		t.Fatalf("two launches share the name %s", a.server.name)
	}
	var steps []string
	for _, st := range a.steps {
		steps = append(steps, strings.Join(st.do, " "))
	}
	p := strings.TrimPrefix(a.server.name, "netns ")
	p = strings.TrimSuffix(p, "-srv")
	want := []string{
		"ip netns add " + p + "-srv",
		"ip -n " + p + "-srv link set lo up",
		"ip netns add " + p + "-ld1",
		"ip link add name ld1 netns " + p + "-srv type veth peer name srv netns " + p + "-ld1",
		"ip -n " + p + "-srv addr add 10.201.1.1/30 dev ld1",
		"ip -n " + p + "-ld1 addr add 10.201.1.2/30 dev srv",
		"ip -n " + p + "-ld2 link set srv up",
		"tc -n " + p + "-srv qdisc add dev ld2 root netem delay 1500us 100us loss 0.1%",
		"tc -n " + p + "-ld2 qdisc add dev srv root netem delay 1500us 100us loss 0.1%",
	}
	for _, w := range want {
		if !slices.Contains(steps, w) {
			t.Errorf("no step %q in\n%s", w, strings.Join(steps, "\n"))
		}
	}
	if strings.Count(strings.Join(steps, "\n"), "netem") != 2 {
		t.Errorf("netem on the first link, which has none:\n%s", strings.Join(steps, "\n"))
	}
	if a.listen != "0.0.0.0:0" || a.target(1, "8080") != "10.201.2.1:8080" || a.reachable {
		t.Fatalf("listen %s, target %s", a.listen, a.target(1, "8080"))
	}
	if got := a.loaders[1].command([]string{"/bin/iolab", "load", "--json"}); strings.Join(got, " ") != "ip netns exec "+p+"-ld2 /bin/iolab load --json" {
		t.Fatalf("loader command %q", got)
	}
	var plan strings.Builder
	a.describe(&plan)
	out := plan.String()
	del := strings.Index(out, "ip netns delete "+p+"-ld2")
	if del < 0 || del > strings.Index(out, "ip netns delete "+p+"-srv") || !strings.Contains(out, "connecting to 10.201.1.1:PORT") {
		t.Fatalf("plan (the namespaces go last first):\n%s", out)
	}
}

// TestSSHCommand: what runs over ssh is exactly the argv asked for, however
// it is quoted: checked by handing the remote command line to a real POSIX
// shell, as sshd hands it to the login shell.
func TestSSHCommand(t *testing.T) {
	h := sshHost(Host{Dest: "client1", User: "lab", Port: 2222, Identity: "~/.ssh/lab", Iolab: "/opt/iolab"},
		map[string]string{"StrictHostKeyChecking": "accept-new", "BatchMode": "no"})
	argv := []string{"/opt/iolab", "load", "--header=X-Quote: it's \"quoted\"", "--body=$HOME `id` \\ ;|&", "--expect-body=-x", "--path=/a b", ""}
	cmd := h.command(argv)
	wantPrefix := []string{"ssh", "-T", "-o", "BatchMode=no", "-o", "StrictHostKeyChecking=accept-new",
		"-o", "BatchMode=yes", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
		"-l", "lab", "-p", "2222", "-i", "~/.ssh/lab", "--", "client1"}
	if !slices.Equal(cmd[:len(wantPrefix)], wantPrefix) || len(cmd) != len(wantPrefix)+1 {
		t.Fatalf("ssh argv:\n%q\nwant it to begin\n%q\nthen one command line", cmd, wantPrefix)
	}
	line := cmd[len(cmd)-1]
	if !strings.HasPrefix(line, "exec /opt/iolab load ") {
		t.Fatalf("remote command line %q", line)
	}
	// The shell runs printf in place of iolab, one argument a line.
	probe := strings.Replace(line, "exec /opt/iolab", `exec printf '%s\n' /opt/iolab`, 1)
	out, err := exec.Command("/bin/sh", "-c", probe).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, argv) {
		t.Fatalf("the shell read\n%q\nfrom %q; want\n%q", got, line, argv)
	}
	if sshHostname("bench@10.0.0.5") != "10.0.0.5" || sshHostname("server1") != "server1" {
		t.Fatal("sshHostname")
	}
	s, err := Parse("sample.yaml", []byte(hostsSample(sshHosts)))
	if err != nil {
		t.Fatal(err)
	}
	l := newLaunch(s, "/bin/iolab")
	if l.listen != "0.0.0.0:8080" || l.target(0, "8080") != "10.0.0.5:8080" || l.server.iolab != "/opt/iolab/bin/iolab" ||
		l.loaders[1].iolab != "iolab" || !l.loaders[0].remote || len(l.steps) != 3 {
		t.Fatalf("%+v", l)
	}
	// Every host is asked for its iolab before the first cell.
	if last := l.steps[2].do; last[len(last)-1] != "exec iolab version" || !slices.Contains(last, "client2") {
		t.Fatalf("check step %q", last)
	}
}

// TestLoadArgs: each load generator's share of the connections, the rate
// and the count adds up to the cell's, and every value goes as --flag=value.
func TestLoadArgs(t *testing.T) {
	s, err := Parse("sample.yaml", []byte(hostsSample("hosts: {loaders: 3}\nrequests: 1000\nload_threads: 1\n")))
	if err != nil {
		t.Fatal(err)
	}
	s.Workloads[0].Headers = []string{"X-A: -b"}
	r := &Runner{Spec: s}
	p := s.Expand()[0]
	p.Connections, p.Rate = 16, 900
	var conns, count int64
	var rate float64
	for i := range 3 {
		h := host{iolab: "/x/iolab", prefix: []string{"ip", "netns", "exec", "ns"}}
		a := pinned(r.loadArgs(p, i, 3, h, "10.0.0.1:80"), s.LoaderCPUs, h)
		if !slices.Equal(a[:7], []string{"ip", "netns", "exec", "ns", "taskset", "-c", "1"}) || a[7] != "/x/iolab" || a[len(a)-1] != "http://10.0.0.1:80/plaintext" {
			t.Fatalf("argv %q", a)
		}
		for _, arg := range a[9 : len(a)-1] {
			if !strings.HasPrefix(arg, "--") || !strings.Contains(arg, "=") && arg != "--json" && arg != "--techempower-headers" {
				t.Errorf("%q: not --flag=value", arg)
			}
			k, v, _ := strings.Cut(arg, "=")
			n, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "--connections":
				conns += int64(n)
			case "--requests":
				count += int64(n)
			case "--rate":
				rate += n
			}
		}
		if !slices.Contains(a, "--header=X-A: -b") || !slices.Contains(a, "--expect-body=Hello, World!") || !slices.Contains(a, "--threads=1") {
			t.Errorf("workload missing from %q", a)
		}
	}
	if conns != 16 || count != 1000 || math.Abs(rate-900) > 1e-9 {
		t.Fatalf("shares add up to %d connections, %d requests, %v req/s", conns, count, rate)
	}
	if share(16, 0, 3) != 6 || share(16, 1, 3) != 5 || share(16, 2, 3) != 5 {
		t.Fatal("share")
	}
}

func TestTCTime(t *testing.T) {
	for d, want := range map[time.Duration]string{time.Millisecond: "1ms", 1500 * time.Microsecond: "1500us", 2 * time.Second: "2000ms"} {
		if got := tcTime(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
}

// TestFillsCPUs: two load generators at 48% each of one shared CPU fill it,
// though neither alone looks saturated.
func TestFillsCPUs(t *testing.T) {
	merged := &loadgen.Result{Seconds: 2}
	merged.CPU.UserSeconds, merged.CPU.SystemSeconds = 1.2, 0.72 // 1.92 of 2 CPU-seconds
	if !fillsCPUs(merged, 1) || fillsCPUs(merged, 2) {
		t.Fatal("96% of one CPU fills it; 48% of two does not")
	}
	if fillsCPUs(&loadgen.Result{}, 1) {
		t.Fatal("an empty window fills nothing")
	}
}
