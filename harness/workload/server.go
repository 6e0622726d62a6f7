package workload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Server is the workload's HTTP server.
type Server struct {
	log   *slog.Logger
	ready atomic.Bool
	exit  chan int
}

// NewServer returns a ready server that logs to log.
func NewServer(log *slog.Logger) *Server {
	s := &Server{log: log, exit: make(chan int, 1)}
	s.ready.Store(true)
	return s
}

// Handler serves /healthz (always 200), /readyz (200 while ready, 503
// after /readyz?set=false), /exit?code=N (answers, then Run returns N) and
// / (a greeting). Every request is logged.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("set"); v != "" {
			on, err := strconv.ParseBool(v)
			if err != nil {
				http.Error(w, "set must be true or false", http.StatusBadRequest)
				return
			}
			s.ready.Store(on)
		}
		if !s.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/exit", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.URL.Query().Get("code"))
		if err != nil || code < 0 || code > 255 {
			http.Error(w, "code must be 0-255", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "exiting with %d\n", code)
		select {
		case s.exit <- code:
		default:
		}
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "kubeworkshop workload") })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
		s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "remote", r.RemoteAddr)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Run serves on l until ctx ends (exit code 0) or /exit asks for a code,
// which it returns after the response has been sent.
func (s *Server) Run(ctx context.Context, l net.Listener) (int, error) {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	s.log.Info("listening", "addr", l.Addr().String())
	code := 0
	select {
	case <-ctx.Done():
	case code = <-s.exit:
	case err := <-errc:
		return 1, err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return 1, err
	}
	s.log.Info("exiting", "code", code)
	return code, nil
}
