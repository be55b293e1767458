// Package app holds iolab's workloads: transport-agnostic handlers over
// models/http1 types. Every core runs the same handlers, so the bytes a
// client receives do not depend on the I/O model that carried them.
//
// A handler runs on whatever goroutine or thread the core reads on (for
// epoll and io_uring, the event loop itself), so it must not block, and it
// must not allocate per request: it writes into the connection's output
// buffer through the http1.ResponseWriter, building bodies in w.Scratch.
// (The common knob handler=offload runs it on a worker pool instead: see
// the models package.)
//
// Each workload also has a form written against net/http (App.HTTP), the
// way most Go programs are written: the peers run it (models/peer), and
// models/app/stdhttp runs it on iolab's own cores, so that a chart can say
// what the interface costs on top of the same I/O.
package app

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"iolab/models/http1"
)

// Handler answers one request. It must call w.Write (or w.WriteString, or
// w.WriteHeader and w.WriteBody) once, and must not keep w, r or any view
// into them after it returns.
type Handler interface {
	Serve(w *http1.ResponseWriter, r *http1.Request)
}

// BodyStreamer is a Handler that can take a large request body in pieces
// as it arrives, instead of whole, so that an upload never sits in memory.
// Both methods run on the core's thread, like Serve, and must not block.
type BodyStreamer interface {
	Handler
	// StreamBody is asked when r's head has arrived and its body has not
	// all arrived: true has the body handed over in pieces (BodyPiece),
	// then Serve called with r.Body empty and r.BodySize its length.
	StreamBody(r *http1.Request) bool
	// BodyPiece takes the next piece of r's decoded body; it must not keep
	// piece.
	BodyPiece(r *http1.Request, piece []byte)
}

// BodyReader is a Handler that can read a request body as it arrives, from
// r.BodyStream, when it runs off the core's thread (handler=offload): it is
// then started as soon as the head has arrived. On the core's thread it
// always gets the body whole, in r.Body.
type BodyReader interface {
	Handler
	ReadsBodyStream() bool
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
	// HTTP is the same workload written against net/http, when it has one.
	HTTP http.Handler
	// Open, when set, makes the application from options (a file server
	// needs its directory): Lookup then gives a template whose Handler is
	// nil, and Build calls Open.
	Open func(Options) (App, error)
	// Options are what Build made it with (a peer with its own file server
	// needs the directory too).
	Options Options
}

// Options configure the applications that need it.
type Options struct {
	// StaticDir is the directory the static application serves.
	StaticDir string
}

// Build returns the application called name, made with o where it needs
// options.
func Build(name string, o Options) (App, error) {
	a, err := Lookup(name)
	if err != nil || a.Open == nil {
		return a, err
	}
	a, err = a.Open(o)
	a.Options = o
	return a, err
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
			"GET|POST /baseline, POST /echo, POST /upload (the body's length, streamed); 404 elsewhere",
		Handler: benchApp{},
		HTTP:    benchHTTP(),
	})
	Register(App{
		Name:    "echo",
		Doc:     "every method and path: 200 with the request body echoed back (for conformance suites)",
		Handler: HandlerFunc(echo),
		HTTP:    http.HandlerFunc(echoHTTP),
	})
	Register(App{
		Name: "static",
		Doc: "files from --static-dir, hot ones cached in memory; zerocopy=on (where a core has it) " +
			"sends them with sendfile or splice instead",
		Open: openStatic,
	})
}
