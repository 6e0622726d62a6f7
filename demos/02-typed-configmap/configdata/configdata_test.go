package configdata

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crfake "sigs.k8s.io/controller-runtime/pkg/client/fake"
)

type everything struct {
	Name     string        `json:"name"`
	Port     int32         `json:"port"`
	Ratio    float64       `json:"ratio,omitempty"`
	Debug    bool          `json:"debug,omitempty"`
	Timeout  time.Duration `json:"timeout"`
	Count    uint8         `json:"count,omitempty"`
	Addr     netip.Addr    `json:"addr,omitempty"`
	Limit    *int          `json:"limit,omitempty"`
	Blob     []byte        `json:"blob.bin,omitempty"`
	Untagged string
	Skipped  string `json:"-"`
	private  string // unexported: never mapped
}

func TestUnmarshal(t *testing.T) {
	limit := 5
	tests := []struct {
		name     string
		data     map[string]string
		want     everything
		wantKeys []string // keys named by the validation error, in order
	}{
		{
			name: "all keys",
			data: map[string]string{
				"name": "web", "port": "8080", "ratio": "0.5", "debug": "true", "timeout": "1m30s",
				"count": "7", "addr": "10.0.0.1", "limit": "5", "blob.bin": "\x00\x01", "Untagged": "u",
				"Skipped": "ignored", "unrelated": "ignored too",
			},
			want: everything{Name: "web", Port: 8080, Ratio: 0.5, Debug: true, Timeout: 90 * time.Second,
				Count: 7, Addr: netip.MustParseAddr("10.0.0.1"), Limit: &limit, Blob: []byte{0, 1}, Untagged: "u"},
		},
		{
			name: "optional keys may be absent",
			data: map[string]string{"name": "web", "port": "1", "timeout": "1s", "Untagged": ""},
			want: everything{Name: "web", Port: 1, Timeout: time.Second},
		},
		{
			name:     "every bad key is named",
			data:     map[string]string{"port": "http", "timeout": "soon", "debug": "yes please", "count": "300", "addr": "nope", "Untagged": "x"},
			want:     everything{Untagged: "x"},
			wantKeys: []string{"name", "port", "debug", "timeout", "count", "addr"},
		},
		{
			name:     "int32 overflow",
			data:     map[string]string{"name": "a", "port": "99999999999", "timeout": "1s", "Untagged": "x"},
			want:     everything{Name: "a", Timeout: time.Second, Untagged: "x"},
			wantKeys: []string{"port"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got everything
			err := Unmarshal(tt.data, &got)
			if len(tt.wantKeys) == 0 {
				if err != nil {
					t.Fatalf("Unmarshal: %v", err)
				}
			} else {
				var ve *ValidationError
				if !errors.As(err, &ve) {
					t.Fatalf("err = %v, want a *ValidationError", err)
				}
				if !reflect.DeepEqual(ve.Keys(), tt.wantKeys) {
					t.Fatalf("keys = %v, want %v (err: %v)", ve.Keys(), tt.wantKeys, err)
				}
				for _, k := range tt.wantKeys {
					if !strings.Contains(err.Error(), `"`+k+`"`) {
						t.Errorf("message %q does not name key %q", err, k)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFieldErrorMessages(t *testing.T) {
	var v everything
	err := Unmarshal(map[string]string{"port": "eighty", "timeout": "1s", "Untagged": "", "name": "x"}, &v)
	want := `key "port": want an integer, got "eighty"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Key != "port" || fe.Missing {
		t.Fatalf("errors.As FieldError = %+v", fe)
	}
	err = Unmarshal(map[string]string{"port": "1", "timeout": "1s", "Untagged": ""}, &v)
	if want := `key "name" is required but missing (want a string)`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	limit := 0
	in := everything{Name: "web", Port: 80, Timeout: 2 * time.Minute, Addr: netip.MustParseAddr("::1"), Limit: &limit, Untagged: "u"}
	data, err := Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "web", "port": "80", "timeout": "2m0s", "addr": "::1", "limit": "0", "Untagged": "u"}
	if !reflect.DeepEqual(data, want) {
		t.Fatalf("Marshal = %v, want %v", data, want)
	}
	var back everything
	if err := Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, in) {
		t.Fatalf("round trip = %+v, want %+v", back, in)
	}
}

func TestUnsupportedTypes(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"not a struct", new(int), "want a struct"},
		{"nested struct", &struct {
			Inner struct{ A string } `json:"inner"`
		}{}, `key "inner"`},
		{"slice", &struct {
			List []string `json:"list"`
		}{}, "unsupported type []string"},
		{"duplicate key", &struct {
			A string `json:"K"`
			K string
		}{}, `both map to key "K"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(map[string]string{}, tt.v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if err := Unmarshal(nil, everything{}); err == nil {
		t.Fatal("Unmarshal into a non-pointer must fail")
	}
}

func TestSet(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string
		check      func(v everything) bool
	}{
		{key: "port", value: "443", check: func(v everything) bool { return v.Port == 443 }},
		{key: "timeout", value: "45s", check: func(v everything) bool { return v.Timeout == 45*time.Second }},
		{key: "limit", value: "3", check: func(v everything) bool { return v.Limit != nil && *v.Limit == 3 }},
		{key: "port", value: "many", wantErr: `key "port": want an integer, got "many"`},
		{key: "debug", value: "maybe", wantErr: `key "debug": want a boolean (true or false), got "maybe"`},
		{key: "nope", value: "1", wantErr: `unknown key "nope" (known keys: Untagged, addr, blob.bin, count, debug, limit, name, port, ratio, timeout)`},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			var v everything
			err := Set(&v, tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(v) {
				t.Fatalf("Set: err %v, value %+v", err, v)
			}
		})
	}
}

type caBundle struct {
	CACert string `json:"ca.crt"`
}

type credentials struct {
	Username string        `json:"username"`
	Password []byte        `json:"password"`
	TTL      time.Duration `json:"ttl,omitempty"`
}

func TestTypedConfigMap(t *testing.T) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kube-root-ca.crt"},
		Data:       map[string]string{"ca.crt": "PEM"},
	}
	view, err := FromConfigMap[caBundle](cm)
	if err != nil || view.Data.CACert != "PEM" || view.Name != "kube-root-ca.crt" {
		t.Fatalf("FromConfigMap = %+v, %v", view, err)
	}
	back, err := view.ToConfigMap()
	if err != nil || back.Data["ca.crt"] != "PEM" || back.Namespace != "ns" || back.Kind != "ConfigMap" {
		t.Fatalf("ToConfigMap = %+v, %v", back, err)
	}

	fromBinary, err := FromConfigMap[caBundle](&corev1.ConfigMap{BinaryData: map[string][]byte{"ca.crt": []byte("B")}})
	if err != nil || fromBinary.Data.CACert != "B" {
		t.Fatalf("binaryData lookup = %+v, %v", fromBinary, err)
	}

	_, err = FromConfigMap[caBundle](&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "empty"}})
	if err == nil || !strings.Contains(err.Error(), `configmap ns/empty: key "ca.crt" is required but missing`) {
		t.Fatalf("missing key error = %v", err)
	}
}

func TestTypedSecret(t *testing.T) {
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "db"},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"username": []byte("admin"), "password": {0xff, 0x00}, "ttl": []byte("1h")},
	}
	view, err := FromSecret[credentials](s)
	if err != nil {
		t.Fatal(err)
	}
	if view.Data.Username != "admin" || !reflect.DeepEqual(view.Data.Password, []byte{0xff, 0x00}) || view.Data.TTL != time.Hour {
		t.Fatalf("FromSecret = %+v", view.Data)
	}
	back, err := view.ToSecret()
	// Durations are written in Go's canonical form.
	wantData := map[string][]byte{"username": []byte("admin"), "password": {0xff, 0x00}, "ttl": []byte("1h0m0s")}
	if err != nil || !reflect.DeepEqual(back.Data, wantData) || back.Type != corev1.SecretTypeOpaque {
		t.Fatalf("ToSecret = %+v, %v", back, err)
	}

	_, err = FromSecret[credentials](&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bad"},
		Data:       map[string][]byte{"username": []byte("u"), "ttl": []byte("forever")},
	})
	var ve *ValidationError
	if !errors.As(err, &ve) || !reflect.DeepEqual(ve.Keys(), []string{"password", "ttl"}) {
		t.Fatalf("err = %v, want password and ttl named", err)
	}

	fromStringData, err := FromSecret[credentials](&corev1.Secret{StringData: map[string]string{"username": "u", "password": "p"}})
	if err != nil || string(fromStringData.Data.Password) != "p" {
		t.Fatalf("stringData lookup = %+v, %v", fromStringData, err)
	}
}

func TestGetConfigMap(t *testing.T) {
	c := crfake.NewClientBuilder().WithObjects(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "kube-root-ca.crt"},
		Data:       map[string]string{"ca.crt": "PEM"},
	}).Build()
	ctx := context.Background()
	view, err := GetConfigMap[caBundle](ctx, c, client.ObjectKey{Namespace: "ns", Name: "kube-root-ca.crt"})
	if err != nil || view.Data.CACert != "PEM" {
		t.Fatalf("GetConfigMap = %+v, %v", view, err)
	}
	_, err = GetConfigMap[caBundle](ctx, c, client.ObjectKey{Namespace: "other", Name: "kube-root-ca.crt"})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("err = %v, want NotFound to survive wrapping", err)
	}
}
