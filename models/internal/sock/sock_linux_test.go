package sock

import (
	"net"
	"testing"

	"golang.org/x/sys/unix"
)

func TestListenGroup(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		fds, bound, err := ListenGroup(addr, 3)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		if len(fds) != 3 || bound.Port == 0 {
			t.Fatalf("%s: fds %v bound %v", addr, fds, bound)
		}
		for _, fd := range fds {
			sa, _ := unix.Getsockname(fd)
			if tcpAddr(sa).Port != bound.Port {
				t.Fatalf("listener on another port: %v", tcpAddr(sa))
			}
		}
		c, err := net.Dial("tcp", bound.String())
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	if _, _, err := Listen("256.0.0.1:0", false); err == nil {
		t.Fatal("bad address accepted")
	}
}
