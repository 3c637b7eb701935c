package runtime

import (
	"bytes"
	"context"
	"errors"
	"net/http"
)

// Router routes connections to handlers by request path, with the
// patterns of http.ServeMux: "/chat/{room}", "GET /feed/{id...}",
// "/static/", "example.com/". Path parameters reach the handler through
// c.Request().PathValue. Give a Server both halves:
//
//	var rt runtime.Router
//	rt.Handle("/chat/{room}", chat)
//	srv := &runtime.Server{
//		Handler: rt.Serve,
//		Options: runtime.ServerOptions{ProcessRequest: rt.ProcessRequest},
//	}
//
// ProcessRequest answers unknown paths with 404 before the handshake;
// Serve runs the matching handler. It works the same when the Server is
// mounted on net/http. (Without a Router, an http.ServeMux can also route
// to several Servers, one per pattern, since Server is an http.Handler.)
type Router struct {
	mux http.ServeMux
}

// ErrNoRoute is returned by Router.Serve for a connection no pattern
// matches (which happens only when Router.ProcessRequest is not used).
var ErrNoRoute = errors.New("tether: no route for this path")

// Handle registers h for pattern, an http.ServeMux pattern. Like
// ServeMux.Handle, it panics on an invalid or conflicting pattern.
func (rt *Router) Handle(pattern string, h Handler) {
	if h == nil {
		panic("tether: Router.Handle: nil handler")
	}
	rt.mux.Handle(pattern, routeHandler{h})
}

// ProcessRequest lets requests that match a pattern go on (with their path
// values set) and answers the others as http.ServeMux would: 404 Not Found,
// 405 with Allow for a method no pattern allows, or a 301 redirect to the
// canonical path (which Dial follows). Chain it with authentication with
// ChainProcessRequest.
func (rt *Router) ProcessRequest(_ context.Context, r *http.Request) (*Response, error) {
	h, rec := rt.match(r)
	if h != nil {
		return nil, nil
	}
	if rec.status == 0 || rec.status == http.StatusNotFound {
		return plainResponse(http.StatusNotFound, "Not Found\n"), nil
	}
	rec.header.Set("Connection", "close")
	return &Response{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
}

// Serve is a Handler that runs the handler of the pattern the request
// matches, or returns ErrNoRoute.
func (rt *Router) Serve(ctx context.Context, c *Conn) error {
	h, _ := rt.match(c.Request())
	if h == nil {
		return ErrNoRoute
	}
	return h(ctx, c)
}

// match runs the ServeMux on r, which sets r's pattern and path values,
// and returns the matching handler, or nil and what the mux answered.
func (rt *Router) match(r *http.Request) (Handler, *muxRecorder) {
	rec := &muxRecorder{header: make(http.Header)}
	rt.mux.ServeHTTP(rec, r)
	return rec.handler, rec
}

// routeHandler is registered in the ServeMux: serving a request only
// tells the recorder which handler matched.
type routeHandler struct{ h Handler }

func (rh routeHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	if rec, ok := w.(*muxRecorder); ok {
		rec.handler = rh.h
	}
}

// muxRecorder is the http.ResponseWriter the Router gives its ServeMux:
// it records the matching handler, or the mux's answer to a request it
// can't route.
type muxRecorder struct {
	handler Handler
	header  http.Header
	status  int
	body    bytes.Buffer
}

func (w *muxRecorder) Header() http.Header { return w.header }

func (w *muxRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *muxRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
