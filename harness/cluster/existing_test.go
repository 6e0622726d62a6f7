package cluster

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// fakeAPIServer answers what the health check asks: /readyz, the node
// list (one Ready node) and the default ServiceAccount, whose answers are
// given in order by serviceAccount (the last one repeats). It counts the
// ServiceAccount requests.
func fakeAPIServer(t *testing.T, serviceAccount ...int) (url string, requests *atomic.Int32) {
	t.Helper()
	requests = &atomic.Int32{}
	write := func(w http.ResponseWriter, code int, obj any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(obj)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	mux.HandleFunc("/api/v1/nodes", func(w http.ResponseWriter, _ *http.Request) {
		write(w, http.StatusOK, corev1.NodeList{
			TypeMeta: metav1.TypeMeta{Kind: "NodeList", APIVersion: "v1"},
			Items: []corev1.Node{{
				ObjectMeta: metav1.ObjectMeta{Name: "node-1"},
				Status:     corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}},
			}},
		})
	})
	mux.HandleFunc("/api/v1/namespaces/default/serviceaccounts/default", func(w http.ResponseWriter, _ *http.Request) {
		n := int(requests.Add(1))
		code := serviceAccount[min(n, len(serviceAccount))-1]
		if code == http.StatusOK {
			write(w, code, corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{Kind: "ServiceAccount", APIVersion: "v1"}, ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "default"}})
			return
		}
		write(w, code, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusFailure, Code: int32(code), Message: `serviceaccounts "default": ` + strings.ToLower(http.StatusText(code))})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, requests
}

func kubeconfigFor(t *testing.T, server string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "` + server + `"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestExistingClusterStillStarting(t *testing.T) {
	tests := []struct {
		name           string
		serviceAccount []int // answers to GET the default ServiceAccount, in order
		wantErr        string
		wantWait       bool // Up asks again until the answer changes
	}{
		{"healthy", []int{200}, "", false},
		{"default ServiceAccount not there yet", []int{404, 404, 200}, "", true},
		{"never healthy", []int{404}, "not ready after 2s", true},
		{"refused credentials are not waited for", []int{403}, "forbidden", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, requests := fakeAPIServer(t, tt.serviceAccount...)
			p, err := New(WithProvider(Existing), WithKubeconfig(kubeconfigFor(t, url)), WithCacheDir(t.TempDir()), WithSwitchContext(false))
			if err != nil {
				t.Fatal(err)
			}
			p.o.waitTimeout = 2 * time.Second
			created, err := p.Up(t.Context())
			if created {
				t.Error("the existing provider reported that it created a cluster")
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Up: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Up: got %v, want an error mentioning %q", err, tt.wantErr)
			}
			switch got := requests.Load(); {
			case tt.wantWait && got < 3:
				t.Errorf("the default ServiceAccount was asked for %d times; Up did not wait for it", got)
			case !tt.wantWait && got != 1:
				t.Errorf("the default ServiceAccount was asked for %d times, want once", got)
			}
		})
	}
}
