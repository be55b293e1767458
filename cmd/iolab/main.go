// Command iolab is the command line of iolab, a benchmark harness and lab for
// Linux I/O models: it serves HTTP/1.1 with any registered core (serve),
// lists the cores and their knobs (models), and says what it is (version).
// Each verb lives in its own file as an options struct, a constructor and a
// run function that the tests call directly; main only maps the outcome to
// an exit status.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
