package typedcm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

var now = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// certPEM returns a self-signed CA certificate valid from notBefore to notAfter.
func certPEM(t *testing.T, cn string, notBefore, notAfter time.Time) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func ns(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func bundle(namespace string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: DefaultCAConfigMap}, Data: data}
}

// fakeClient indexes metadata.name the way the API server supports it as a field selector.
func fakeClient(objs ...client.Object) client.WithWatch {
	return crfake.NewClientBuilder().
		WithObjects(objs...).
		WithIndex(&corev1.ConfigMap{}, "metadata.name", func(o client.Object) []string { return []string{o.GetName()} }).
		Build()
}

func TestCACheck(t *testing.T) {
	year := 365 * 24 * time.Hour
	good := certPEM(t, "kubernetes", now.Add(-year), now.Add(10*year))
	soon := certPEM(t, "short-lived", now.Add(-year), now.Add(5*24*time.Hour))
	expired := certPEM(t, "old", now.Add(-2*year), now.Add(-time.Hour))
	c := fakeClient(
		ns("a-good"), ns("b-no-configmap"), ns("c-no-key"), ns("d-garbage"), ns("e-soon"), ns("f-expired"), ns("g-two-certs"),
		bundle("a-good", map[string]string{"ca.crt": good}),
		bundle("c-no-key", map[string]string{"other": good}),
		bundle("d-garbage", map[string]string{"ca.crt": "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"}),
		bundle("e-soon", map[string]string{"ca.crt": soon}),
		bundle("f-expired", map[string]string{"ca.crt": expired}),
		bundle("g-two-certs", map[string]string{"ca.crt": good + soon}),
	)
	checker := &CAChecker{Client: c, Now: func() time.Time { return now }}
	rows, err := checker.Check(context.Background(), CAOptions{Name: DefaultCAConfigMap, ExpiresWithin: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	type short struct{ ns, subject, status, reason string }
	var got []short
	for _, r := range rows {
		got = append(got, short{r.Namespace, r.Subject, r.Status, r.Reason})
	}
	want := []short{
		{"a-good", "CN=kubernetes", StatusOK, ""},
		{"b-no-configmap", "", StatusMissing, "configmap kube-root-ca.crt not found"},
		{"c-no-key", "", StatusMissing, `configmap kube-root-ca.crt has no key "ca.crt"`},
		{"d-garbage", "", StatusInvalid, `key "ca.crt": PEM block 1: x509: malformed certificate`},
		{"e-soon", "CN=short-lived", StatusExpiresSoon, "expires in 5d"},
		{"f-expired", "CN=old", StatusInvalid, "expired 2025-05-31T23:00:00Z"},
		{"g-two-certs", "CN=kubernetes", StatusOK, ""},
		{"g-two-certs", "CN=short-lived", StatusExpiresSoon, "expires in 5d"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows:\n%v\nwant:\n%v", got, want)
	}

	err = Failed(rows)
	if err == nil || err.Error() != "the CA bundle is missing or invalid in 4 namespace(s): b-no-configmap, c-no-key, d-garbage, f-expired" {
		t.Fatalf("Failed = %v", err)
	}
	if cli.ExitCode(err) != cli.ExitRuntime {
		t.Fatalf("exit code = %d, want 1", cli.ExitCode(err))
	}

	var out bytes.Buffer
	if err := PrintCARows(&out, rows); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != len(rows)+1 ||
		!strings.HasPrefix(lines[0], "NAMESPACE") || !strings.Contains(lines[0], "NOT-AFTER") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestCACheckOneNamespace(t *testing.T) {
	good := certPEM(t, "custom", now.Add(-time.Hour), now.Add(1000*time.Hour))
	c := fakeClient(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "my-ca"}, Data: map[string]string{"ca.crt": good}},
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "other-key"}, Data: map[string]string{"bundle.pem": good}},
	)
	checker := &CAChecker{Client: c, Now: func() time.Time { return now }}
	tests := []struct {
		name       string
		opts       CAOptions
		wantStatus string
	}{
		{"custom name", CAOptions{Namespace: "team", Name: "my-ca"}, StatusOK},
		{"no ca.crt key", CAOptions{Namespace: "team", Name: "other-key"}, StatusMissing},
		{"absent configmap", CAOptions{Namespace: "team", Name: "nope"}, StatusMissing},
		{"absent namespace", CAOptions{Namespace: "ghost", Name: "my-ca"}, StatusMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := checker.Check(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Status != tt.wantStatus || rows[0].Namespace != tt.opts.Namespace {
				t.Fatalf("rows = %+v, want one %s row", rows, tt.wantStatus)
			}
		})
	}
}

func TestParsePEMBundle(t *testing.T) {
	good := certPEM(t, "x", now, now.Add(time.Hour))
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"one", good, 1, ""},
		{"two with whitespace", good + "\n\n" + good, 2, ""},
		{"empty", "", 0, "no PEM certificate found"},
		{"not pem", "hello", 0, "trailing data that is not PEM"},
		{"private key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", 0, `is a "PRIVATE KEY"`},
		{"trailing junk", good + "junk", 0, "trailing data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := CABundle{CACert: tt.in}.Certificates()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(certs) != tt.want {
				t.Fatalf("got %d certs, err %v; want %d", len(certs), err, tt.want)
			}
		})
	}
}

func TestParseAssignments(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    []Assignment
		wantErr []string
	}{
		{"all types", []string{"greeting=hi there", "replicas=3", "debug=true", "refreshInterval=1m"},
			[]Assignment{{"greeting", "hi there"}, {"replicas", "3"}, {"debug", "true"}, {"refreshInterval", "1m"}}, nil},
		{"value with equals", []string{"greeting=a=b"}, []Assignment{{"greeting", "a=b"}}, nil},
		{"wrong type names key and type", []string{"replicas=three"}, nil, []string{`key "replicas": want an integer, got "three"`}},
		{"every problem at once", []string{"debug=maybe", "refreshInterval=10", "colour=red", "oops"}, nil, []string{
			`key "debug": want a boolean (true or false), got "maybe"`,
			`key "refreshInterval": want a duration such as 30s or 5m, got "10"`,
			`unknown key "colour"`,
			`argument "oops" is not KEY=VALUE`,
		}},
		{"nothing to set", nil, nil, []string{"at least one KEY=VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAssignments(tt.args)
			if tt.wantErr != nil {
				if cli.ExitCode(err) != cli.ExitUsage {
					t.Fatalf("err = %v, want a usage error", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("err %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	c := fakeClient()
	store := &SettingsStore{Client: c}
	key := client.ObjectKey{Namespace: "app", Name: DefaultSettingsName}

	if _, err := store.Get(ctx, key); err == nil || !strings.Contains(err.Error(), "settings set") {
		t.Fatalf("Get before set = %v, want a not-found error suggesting set", err)
	}
	s, err := store.Set(ctx, key, []Assignment{{"replicas", "3"}})
	if err != nil {
		t.Fatalf("Set: %v", err)
	}
	want := DefaultSettings()
	want.Replicas = 3
	if s != want {
		t.Fatalf("after first set: %+v, want %+v", s, want)
	}
	s, err = store.Set(ctx, key, []Assignment{{"debug", "true"}, {"refreshInterval", "2m"}})
	if err != nil {
		t.Fatalf("second Set: %v", err)
	}
	want.Debug, want.RefreshInterval = true, 2*time.Minute
	if s != want {
		t.Fatalf("after second set: %+v, want %+v (earlier values must survive)", s, want)
	}

	cm := &corev1.ConfigMap{}
	if err := c.Get(ctx, key, cm); err != nil {
		t.Fatal(err)
	}
	wantData := map[string]string{"greeting": "hello", "replicas": "3", "debug": "true", "refreshInterval": "2m0s"}
	if !reflect.DeepEqual(cm.Data, wantData) || cm.Labels["app.kubernetes.io/managed-by"] != FieldManager {
		t.Fatalf("stored configmap = %v %v", cm.Labels, cm.Data)
	}

	var out bytes.Buffer
	if err := PrintSettings(&out, s, cli.OutputTable); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "replicas          3       an integer") {
		t.Fatalf("table:\n%s", out.String())
	}
}

func TestSettingsSetOnHandEditedConfigMap(t *testing.T) {
	key := client.ObjectKey{Namespace: "app", Name: "edited"}
	existing := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Data:       map[string]string{"greeting": "hey", "replicas": "lots"},
	}
	tests := []struct {
		name    string
		assign  []Assignment
		want    Settings
		wantErr string
	}{
		{"bad value not being fixed", []Assignment{{"debug", "true"}}, Settings{}, `holds invalid values (key "replicas": want an integer, got "lots")`},
		{"bad value fixed by this set", []Assignment{{"replicas", "2"}}, Settings{Greeting: "hey", Replicas: 2, RefreshInterval: 30 * time.Second}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &SettingsStore{Client: fakeClient(existing.DeepCopy())}
			got, err := store.Set(context.Background(), key, tt.assign)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestRunUsageErrors(t *testing.T) {
	// The kubeconfig points at nothing: these commands must fail before connecting.
	kubeconfig := "--kubeconfig=/nonexistent/kubeconfig"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "missing command"},
		{"unknown command", []string{"frobnicate"}, "unknown command"},
		{"settings without verb", []string{"settings"}, "get or set"},
		{"wrong type is refused before anything is written", []string{"settings", "set", kubeconfig, "-n", "x", "replicas=many"}, `key "replicas": want an integer`},
		{"shared flags before the commands", []string{kubeconfig, "-n", "x", "settings", "set", "replicas=many"}, `key "replicas": want an integer`},
		{"get with arguments", []string{"settings", "get", kubeconfig, "extra"}, "takes no arguments"},
		{"ca with -n and -A", []string{"ca", kubeconfig, "-n", "x", "-A"}, "cannot be used together"},
		{"ca bad flag", []string{"ca", "--frob"}, "unknown flag"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := Run(context.Background(), tt.args, &stdout, &stderr)
			if cli.ExitCode(err) != cli.ExitUsage || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (exit %d), want usage error containing %q", err, cli.ExitCode(err), tt.want)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"ca", "--help"}, {"settings", "set", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("help returned %v", err)
			}
			if stderr.Len() == 0 {
				t.Fatal("no help text printed")
			}
		})
	}
}

func TestDecodeSettingsReportsEveryKey(t *testing.T) {
	cm := &corev1.ConfigMap{Data: map[string]string{"greeting": "hi", "replicas": "three", "debug": "yes please"}}
	got, err := DecodeSettings(cm, DefaultSettings())
	if got.Greeting != "hi" || got.Replicas != 1 || got.RefreshInterval != 30*time.Second {
		t.Errorf("good keys decoded, bad and missing ones kept: got %+v", got)
	}
	var keys []string
	for _, e := range unwrapAll(err) {
		var ke *KeyError
		if !errors.As(e, &ke) {
			t.Fatalf("%v is not a *KeyError", e)
		}
		keys = append(keys, fmt.Sprintf("%s missing=%v", ke.Key, ke.Missing))
	}
	want := []string{"replicas missing=false", "debug missing=false", "refreshInterval missing=true"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("key errors = %v, want %v (error: %v)", keys, want, err)
	}
	if !strings.Contains(err.Error(), `key "replicas": want an integer, got "three"`) {
		t.Fatalf("error = %v", err)
	}
}
