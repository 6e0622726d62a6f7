package workload

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct {
		name    string
		url     string
		body    string
		wantErr string
	}{
		{name: "2xx", url: srv.URL + "/healthz", body: "ok\n"},
		{name: "non-2xx status", url: srv.URL + "/exit?code=x", body: "code must be 0-255\n", wantErr: "400 Bad Request"},
		{name: "nobody listening", url: closed.URL + "/healthz", wantErr: "connection refused"},
		{name: "bad URL", url: "::", wantErr: "missing protocol scheme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := Get(t.Context(), tt.url, &out)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
			if out.String() != tt.body {
				t.Errorf("body = %q, want %q", out.String(), tt.body)
			}
		})
	}
}
