// Package nethttp is a reference peer: Go's own net/http server, the
// default choice of most Go programs, serving each application's net/http
// form (app.App.HTTP) as any Go program would. It is a goroutine per
// connection on the runtime poller, like the netstd core, but with
// net/http's parser, bufio buffers, a Request and a Header map per request,
// and its ResponseWriter: the whole cost of the standard stack, to set
// beside netstd (the same I/O model without it) and beside the adapter
// (models/app/stdhttp: the same handlers on iolab's cores).
//
// The common knobs map onto http.Server: idle_timeout to IdleTimeout,
// header_timeout to ReadHeaderTimeout, max_request_line + max_header_bytes
// to MaxHeaderBytes (net/http counts the request line in it), max_body to
// http.MaxBytesReader, max_conns to the listener; max_headers has no
// counterpart.
package nethttp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"

	"iolab/models"
	"iolab/models/peer"
)

func init() {
	models.Register(models.Model{
		Name:     "nethttp",
		Doc:      "reference peer: Go's net/http server with the applications' net/http forms",
		Validate: peer.Validate,
		Start:    Start,
		Peer:     true,
	})
}

// Server is a running net/http peer.
type Server struct {
	srv *http.Server
	ln  *peer.Listener
	end models.Ending
}

var _ models.Core = (*Server)(nil)

// Start listens on addr and serves cfg's application with net/http.
func Start(addr string, cfg models.Config) (models.Core, error) {
	if cfg.HTTP == nil {
		return nil, fmt.Errorf("nethttp: app %s has no net/http form", cfg.AppName)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: peer.NewListener(ln, cfg.MaxConns)}
	app, maxBody := cfg.HTTP, cfg.Limits.MaxBody
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.ln.Request()
			w.Header().Set("Server", "net/http") // TechEmpower's verifier wants one
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			app.ServeHTTP(w, r)
		}),
		IdleTimeout:       cfg.IdleTimeout,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		MaxHeaderBytes:    cfg.Limits.MaxRequestLine + cfg.Limits.MaxHeaderBytes,
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateClosed || st == http.StateHijacked {
				s.ln.ConnClosed(c)
			}
		},
		ErrorLog: log.New(io.Discard, "", 0), // a benchmark's broken connections are not news
	}
	go func() {
		if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
			s.finish(err)
		}
	}()
	return s, nil
}

func (s *Server) Addr() net.Addr        { return s.ln.Addr() }
func (s *Server) Stats() models.Stats   { return s.ln.Stats() }
func (s *Server) Done() <-chan struct{} { return s.end.Done() }
func (s *Server) Err() error            { return s.end.Err() }
func (s *Server) finish(err error)      { s.end.Finish(err) }

// Stop implements models.Core with http.Server.Shutdown: the listener
// closes, idle connections close, busy ones after their response.
func (s *Server) Stop(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	s.finish(nil)
	return err
}
