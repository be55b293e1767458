// Package fasthttp is a reference peer: github.com/valyala/fasthttp, the
// fastest widely used Go HTTP server, with the workloads written against
// its own API (as its users write them: RequestCtx, no allocation per
// request), its file server for static, and, for an application that has
// only a net/http form, fasthttpadaptor over that.
//
// Like the netstd core it runs on the runtime poller, a goroutine per
// connection from a worker pool, but with its own parser, buffers and
// reuse of everything: a chart shows what the best of that design gets
// beside iolab's cores.
//
// The common knobs map onto fasthttp.Server: idle_timeout to IdleTimeout;
// header_timeout to ReadTimeout, which in fasthttp bounds reading the whole
// request; max_request_line + max_header_bytes to ReadBufferSize (a head
// must fit its read buffer); max_body to MaxRequestBodySize; max_conns to
// the listener; max_headers has no counterpart. The bench application's
// request bodies are streamed (StreamRequestBody), for its uploads.
package fasthttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"iolab/models"
	"iolab/models/peer"
)

func init() {
	models.Register(models.Model{
		Name:     "fasthttp",
		Doc:      "reference peer: github.com/valyala/fasthttp with the workloads in its own API",
		Validate: peer.Validate,
		Start:    Start,
		Peer:     true,
	})
}

// Server is a running fasthttp peer.
type Server struct {
	srv *fasthttp.Server
	ln  *peer.Listener
	end models.Ending
}

var _ models.Core = (*Server)(nil)

// Start listens on addr and serves cfg's application with fasthttp.
func Start(addr string, cfg models.Config) (models.Core, error) {
	h, err := handler(cfg)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{ln: peer.NewListener(ln, cfg.MaxConns)}
	s.srv = &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			s.ln.Request()
			h(ctx)
		},
		Name:               "fasthttp",
		IdleTimeout:        cfg.IdleTimeout,
		ReadTimeout:        cfg.HeaderTimeout,
		ReadBufferSize:     cfg.Limits.MaxRequestLine + cfg.Limits.MaxHeaderBytes,
		MaxRequestBodySize: int(cfg.Limits.MaxBody),
		StreamRequestBody:  cfg.AppName == "bench", // its /upload reads bodies as they come
		CloseOnShutdown:    true,
		Logger:             quiet{},
		ConnState: func(c net.Conn, st fasthttp.ConnState) {
			if st == fasthttp.StateClosed || st == fasthttp.StateHijacked {
				s.ln.ConnClosed(c)
			}
		},
	}
	go func() {
		if err := s.srv.Serve(s.ln); err != nil {
			s.finish(err)
		}
	}()
	return s, nil
}

type quiet struct{}

func (quiet) Printf(string, ...any) {}

func (s *Server) Addr() net.Addr        { return s.ln.Addr() }
func (s *Server) Stats() models.Stats   { return s.ln.Stats() }
func (s *Server) Done() <-chan struct{} { return s.end.Done() }
func (s *Server) Err() error            { return s.end.Err() }
func (s *Server) finish(err error)      { s.end.Finish(err) }

// Stop implements models.Core with ShutdownWithContext: the listener
// closes, idle connections close, busy ones after their response.
func (s *Server) Stop(ctx context.Context) error {
	err := s.srv.ShutdownWithContext(ctx)
	s.finish(nil)
	return err
}

// handler picks the application in fasthttp's terms: its own form of the
// workloads iolab defines, else its adaptor over the net/http form.
func handler(cfg models.Config) (fasthttp.RequestHandler, error) {
	switch cfg.AppName {
	case "bench":
		return bench, nil
	case "echo":
		return echo, nil
	case "static":
		fs := &fasthttp.FS{Root: cfg.AppOptions.StaticDir, AcceptByteRange: true}
		return fs.NewRequestHandler(), nil
	}
	if cfg.HTTP == nil {
		return nil, fmt.Errorf("fasthttp: app %s has neither a fasthttp form nor a net/http one", cfg.AppName)
	}
	return fasthttpadaptor.NewFastHTTPHandler(cfg.HTTP), nil
}

const (
	textPlain = "text/plain"
	appJSON   = "application/json"
)

var helloWorld = []byte("Hello, World!")

// bench is the bench application in fasthttp.
func bench(ctx *fasthttp.RequestCtx) {
	switch string(ctx.Path()) {
	case "/plaintext":
		if allow(ctx, "GET, HEAD", ctx.IsGet() || ctx.IsHead()) {
			ctx.SetContentType(textPlain)
			ctx.SetBody(helloWorld)
		}
	case "/json":
		if allow(ctx, "GET, HEAD", ctx.IsGet() || ctx.IsHead()) {
			b, err := json.Marshal(struct {
				Message string `json:"message"`
			}{"Hello, World!"})
			if err != nil {
				ctx.Error(err.Error(), fasthttp.StatusInternalServerError)
				return
			}
			ctx.SetContentType(appJSON)
			ctx.SetBody(b)
		}
	case "/baseline":
		if allow(ctx, "GET, HEAD, POST", ctx.IsGet() || ctx.IsHead() || ctx.IsPost()) {
			baseline(ctx)
		}
	case "/echo":
		if allow(ctx, "POST, PUT", ctx.IsPost() || ctx.IsPut()) {
			echo(ctx)
		}
	case "/upload":
		if allow(ctx, "POST, PUT", ctx.IsPost() || ctx.IsPut()) {
			upload(ctx)
		}
	default:
		ctx.Error("Not Found\n", fasthttp.StatusNotFound)
	}
}

func allow(ctx *fasthttp.RequestCtx, list string, ok bool) bool {
	if !ok {
		ctx.Response.Header.Set("Allow", list+", OPTIONS")
		ctx.Error("Method Not Allowed\n", fasthttp.StatusMethodNotAllowed)
	}
	return ok
}

func baseline(ctx *fasthttp.RequestCtx) {
	var sum int64
	bad := false
	ctx.QueryArgs().VisitAll(func(_, v []byte) {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			bad = true
		}
		sum += n
	})
	if bad {
		ctx.Error("query values must be integers\n", fasthttp.StatusBadRequest)
		return
	}
	if body := ctx.PostBody(); len(body) > 0 {
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			ctx.Error("body must be an integer\n", fasthttp.StatusBadRequest)
			return
		}
		sum += n
	}
	ctx.SetContentType(textPlain)
	ctx.SetBody(strconv.AppendInt(nil, sum, 10))
}

// echo answers with the body, labelled as it came.
func echo(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	switch ct := ctx.Request.Header.ContentType(); {
	case len(ct) > 0:
		ctx.Response.Header.SetContentTypeBytes(ct)
	case len(body) > 0:
		ctx.SetContentType("application/octet-stream")
	default:
		ctx.SetContentType(textPlain)
	}
	ctx.SetBody(body)
}

// upload reads the body as it arrives and answers with its length.
func upload(ctx *fasthttp.RequestCtx) {
	var n int64
	if r := ctx.RequestBodyStream(); r != nil {
		var err error
		if n, err = io.Copy(io.Discard, r); err != nil {
			ctx.Error("reading the body: "+err.Error(), fasthttp.StatusBadRequest)
			return
		}
	} else {
		n = int64(len(ctx.PostBody()))
	}
	ctx.SetContentType(textPlain)
	ctx.SetBody(strconv.AppendInt(nil, n, 10))
}
