// Package app holds iolab's workloads: transport-agnostic handlers over
// models/http1 types. Every core runs the same handlers, so the bytes a
// client receives do not depend on the I/O model that carried them.
//
// A handler runs on whatever goroutine or thread the core reads on (for
// epoll and io_uring, the event loop itself), so it must not block, and it
// must not allocate per request: it writes into the connection's output
// buffer through the http1.ResponseWriter, building bodies in w.Scratch.
package app

import (
	"fmt"
	"sort"
	"strings"

	"iolab/models/http1"
)

// Handler answers one request. It must call w.Write (or w.WriteString)
// exactly once, and must not keep w, r or any view into them after it returns.
type Handler interface {
	Serve(w *http1.ResponseWriter, r *http1.Request)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *http1.ResponseWriter, r *http1.Request)

// Serve calls f.
func (f HandlerFunc) Serve(w *http1.ResponseWriter, r *http1.Request) { f(w, r) }

// App is a named workload.
type App struct {
	Name    string
	Doc     string
	Handler Handler
}

var apps = map[string]App{}

// Register adds an application. It panics on a duplicate name: that is a
// programming error, caught by any test.
func Register(a App) {
	if _, dup := apps[a.Name]; dup {
		panic("app: duplicate application " + a.Name)
	}
	apps[a.Name] = a
}

// Lookup returns the application called name, or an error that lists the
// known ones.
func Lookup(name string) (App, error) {
	a, ok := apps[name]
	if !ok {
		return App{}, fmt.Errorf("unknown app %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return a, nil
}

// Names lists the applications, sorted.
func Names() []string {
	names := make([]string, 0, len(apps))
	for n := range apps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Default is the application `iolab serve` runs when none is named.
const Default = "bench"

func init() {
	Register(App{
		Name: "bench",
		Doc: "TechEmpower and HttpArena workloads: GET /plaintext, GET /json, " +
			"GET|POST /baseline, POST /echo; 404 elsewhere",
		Handler: HandlerFunc(bench),
	})
	Register(App{
		Name:    "echo",
		Doc:     "every method and path: 200 with the request body echoed back (for conformance suites)",
		Handler: HandlerFunc(echo),
	})
}
