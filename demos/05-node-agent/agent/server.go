package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// PodLookup finds the UID of a pod this agent runs.
type PodLookup func(namespace, name string) (uid string, ok bool)

// Server is the agent's side of `kubectl logs`: the API server proxies
// GET /containerLogs/{namespace}/{pod}/{container} to the daemon port the
// node advertises (status.daemonEndpoints.kubeletEndpoint), over HTTPS.
// It also serves /healthz, /metrics and a /stats/summary of module memory.
//
// It trusts every caller: it listens on loopback, and kwok's API server
// presents no client certificate. A real kubelet authenticates the API
// server and asks it (SubjectAccessReview) whether the caller may read logs.
func NewServer(logs *Logs, lookup PodLookup, summary func() Summary, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	// START logs OMIT
	mux.HandleFunc("GET /containerLogs/{namespace}/{pod}/{container}", func(w http.ResponseWriter, r *http.Request) {
		ns, pod, ctr := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
		uid, ok := lookup(ns, pod)
		if !ok {
			http.Error(w, fmt.Sprintf("pod %s/%s is not on this node", ns, pod), http.StatusNotFound)
			return
		}
		q := r.URL.Query()
		o := LogOptions{Previous: q.Get("previous") == "true", Follow: q.Get("follow") == "true", TailLines: -1}
		// END logs OMIT
		if v := q.Get("tailLines"); v != "" {
			o.TailLines, _ = strconv.ParseInt(v, 10, 64)
		}
		if v := q.Get("limitBytes"); v != "" {
			o.LimitBytes, _ = strconv.ParseInt(v, 10, 64)
		}
		w.Header().Set("Content-Type", "text/plain")
		rc := http.NewResponseController(w)
		started := false
		err := logs.Read(r.Context(), LogRef{Namespace: ns, Pod: pod, UID: uid, Container: ctr}, o, writerFunc(func(p []byte) (int, error) {
			started = true
			return w.Write(p)
		}), func() { _ = rc.Flush() })
		if err != nil && !started {
			code := http.StatusInternalServerError
			if errors.Is(err, ErrNoLogs) {
				code = http.StatusBadRequest // what the kubelet answers for a container without logs
			}
			http.Error(w, err.Error(), code)
		}
	})
	for _, p := range []string{"/exec/", "/attach/", "/portForward/", "/run/"} {
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "not supported by this node: its containers are WebAssembly modules run by the node agent, with no shell or process to attach to", http.StatusNotImplemented)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /stats/summary", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(summary())
	})
	return mux
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// Summary is the part of the kubelet's /stats/summary the agent fills in:
// the linear memory of each pod's running modules.
type Summary struct {
	Node SummaryNode  `json:"node"`
	Pods []SummaryPod `json:"pods"`
}

// SummaryNode is the node's entry in a Summary.
type SummaryNode struct {
	NodeName string        `json:"nodeName"`
	Memory   SummaryMemory `json:"memory"`
}

// SummaryPod is one pod's entry in a Summary.
type SummaryPod struct {
	PodRef struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"podRef"`
	Memory SummaryMemory `json:"memory"`
}

// SummaryMemory is memory in bytes, as working set.
type SummaryMemory struct {
	WorkingSetBytes uint64 `json:"workingSetBytes"`
}

// Serve listens on addr with a fresh self-signed certificate for ip and
// serves h until ctx ends. It returns once the listener is open; errc gets
// the server's end.
func Serve(ctx context.Context, addr string, ip net.IP, h http.Handler) (<-chan error, error) {
	cert, err := selfSigned(ip)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on the daemon port %s (is another node agent or kubelet using it? pick one with --port): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	errc := make(chan error, 1)
	go func() { errc <- srv.ServeTLS(ln, "", "") }()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close() // followers of `kubectl logs -f` do not end by themselves
		}
	}()
	return errc, nil
}

func selfSigned(ip net.IP) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "kubeworkshop node agent"},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{ip},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create the serving certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
