package loadgen

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"iolab/models"
)

// TestManyConnections opens 50,000 connections, more than one source
// address has ephemeral ports toward one destination, spread over
// 127.0.0.2-127.0.0.9, against an in-process epoll core, and runs a short
// closed loop over all of them with no error. The process then holds both
// ends of every connection: it raises its own RLIMIT_NOFILE (the hard limit
// too, which takes root or CAP_SYS_RESOURCE) and is skipped, saying so, when
// it cannot.
//
// It is opt-in, because it takes a good part of a machine's ephemeral
// ports, descriptors and socket memory for a few seconds:
//
//	IOLAB_STRESS=1 go test -run ManyConnections ./loadgen/
//
// IOLAB_STRESS_CONNS sets another number of connections (a machine whose
// hard limit cannot be raised can still run it below that limit).
func TestManyConnections(t *testing.T) {
	if os.Getenv("IOLAB_STRESS") != "1" {
		t.Skip("opt-in: set IOLAB_STRESS=1 to open 50,000 connections")
	}
	conns := 50_000
	if s := os.Getenv("IOLAB_STRESS_CONNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("IOLAB_STRESS_CONNS=%q is not a positive number", s)
		}
		conns = n
	}
	need := uint64(2*conns + 1024)
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Skip("cannot read RLIMIT_NOFILE:", err)
	}
	if l.Cur < need {
		raised := syscall.Rlimit{Cur: need, Max: max(l.Max, need)}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			t.Skipf("needs %d open files for both ends of %d connections; the limit is %d (hard %d) and cannot be raised: %v",
				need, conns, l.Cur, l.Max, err)
		}
		t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l) })
	}
	core := startCore(t, "epoll")
	began := time.Now()
	res := mustRun(t, Config{URL: "http://" + core.Addr().String() + "/plaintext", Connections: conns,
		SourceAddrs: mustAddrs(t, "127.0.0.2-127.0.0.9"), Duration: time.Second, Timeout: 10 * time.Second,
		ExpectStatus: 200})
	t.Logf("%d connections opened in %.2fs; %d requests in %.2fs (%.0f/s); run took %v",
		conns, res.ConnectSeconds, res.Received, res.Seconds, res.RPS, time.Since(began).Round(time.Millisecond))
	if res.Errors.Total() != 0 || res.Received < uint64(conns) || res.Reconnects != 0 {
		t.Fatalf("errors %+v, received %d, reconnects %d\n%s", res.Errors, res.Received, res.Reconnects, text(t, res, false))
	}
	if got := core.Stats().Get(models.Accepted); got < uint64(conns) {
		t.Fatalf("server accepted %d", got)
	}
}

// TestSourceAddrsSpread proves the source-address spreading at a size any
// machine allows: each socket's ephemeral range is narrowed to 512 ports
// (IP_LOCAL_PORT_RANGE, Linux 6.3), so 2,000 connections are more than one
// source address can carry toward the server. Spread over 127.0.0.2-9 they
// all connect, with no error, from all eight addresses and only from ports
// in the range, as /proc/net/tcp shows once all are open; with one address, or none,
// Run refuses up front, naming the field to fix.
func TestSourceAddrsSpread(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	const lo, hi = 40000, 40511
	if err := probePortRange(lo, hi); err != nil {
		t.Skip("this kernel has no IP_LOCAL_PORT_RANGE (Linux 6.3):", err)
	}
	portRange = lo | hi<<16
	t.Cleanup(func() { portRange = 0 })
	core := startCore(t, "epoll")
	url := "http://" + core.Addr().String() + "/plaintext"
	const conns = 2000
	// Counted as the measured window begins: every connection is open
	// then, however long opening them took on a busy machine.
	seen := make(chan map[string]int, 1)
	onWindow := func(begin bool) {
		if begin {
			seen <- establishedFrom(t, core.Addr().(*net.TCPAddr).Port, lo, hi)
		}
	}
	res := mustRun(t, Config{URL: url, Connections: conns, SourceAddrs: mustAddrs(t, "127.0.0.2-127.0.0.9"),
		Duration: time.Second, ExpectStatus: 200, OnWindow: onWindow})
	if res.Errors.Total() != 0 || res.Received < conns || res.Reconnects != 0 {
		t.Fatalf("errors %+v, received %d, reconnects %d", res.Errors, res.Received, res.Reconnects)
	}
	bySource := <-seen
	total := 0
	for a, n := range bySource {
		if n > hi-lo+1 {
			t.Errorf("%d connections from %s, more than its %d ports", n, a, hi-lo+1)
		}
		total += n
	}
	if len(bySource) != 8 || total != conns {
		t.Fatalf("mid-run, connections by source address: %v (%d in all)", bySource, total)
	}
	for _, c := range []struct {
		srcs  string
		field string
	}{{"127.0.0.2", "SourceAddrs"}, {"", "Connections"}} {
		cfg := Config{URL: url, Connections: conns, Duration: time.Second}
		if c.srcs != "" {
			cfg.SourceAddrs = mustAddrs(t, c.srcs)
		}
		_, err := Run(context.Background(), cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != c.field {
			t.Fatalf("sources %q: %v; want a %s error", c.srcs, err, c.field)
		}
	}
}

func probePortRange(lo, hi int) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_LOCAL_PORT_RANGE, lo|hi<<16)
}

// establishedFrom counts the established IPv4 connections to the server's
// port by local address, from /proc/net/tcp, failing the test on a local
// port outside lo..hi.
func establishedFrom(t *testing.T, serverPort, lo, hi int) map[string]int {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Error(err)
		return nil
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 4 || f[3] != "01" {
			continue
		}
		local, remote := strings.Split(f[1], ":"), strings.Split(f[2], ":")
		rport, _ := strconv.ParseUint(remote[1], 16, 16)
		if int(rport) != serverPort {
			continue
		}
		ip, _ := strconv.ParseUint(local[0], 16, 32)
		lport, _ := strconv.ParseUint(local[1], 16, 16)
		if int(lport) < lo || int(lport) > hi {
			t.Errorf("local port %d outside %d..%d", lport, lo, hi)
		}
		// /proc/net/tcp prints the address as the host's 32-bit word.
		var a [4]byte
		binary.NativeEndian.PutUint32(a[:], uint32(ip))
		out[netip.AddrFrom4(a).String()]++
	}
	return out
}
