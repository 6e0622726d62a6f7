package typedcm

// The lesson of demo 02, in the talk's order: a plain struct as a typed view of a ConfigMap,
// decode and validate, Go errors next to thiserror/anyhow, and write back with apply.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// START cabundle OMIT
// CABundle is the typed view of kube-root-ca.crt, the ConfigMap in which Kubernetes
// publishes the cluster's CA certificate into every namespace. The json tag maps the
// data key, as #[serde(rename = "ca.crt")] does in kube-rs.
type CABundle struct {
	CACert string `json:"ca.crt"`
}

// END cabundle OMIT

// DecodeCABundle decodes a ConfigMap's data (the client decoded the object) into the view.
func DecodeCABundle(cm *corev1.ConfigMap) (CABundle, error) {
	var bundle CABundle
	raw, err := json.Marshal(cm.Data)
	if err == nil {
		err = json.Unmarshal(raw, &bundle)
	}
	if err != nil {
		return bundle, fmt.Errorf("configmap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	if bundle.CACert == "" {
		return bundle, &KeyError{Key: "ca.crt", Missing: true}
	}
	return bundle, nil
}

// START keyerror OMIT
// KeyError is what is wrong with one data key: one variant of a thiserror enum, in Go.
type KeyError struct {
	Key       string
	Want, Got string // the type the value must parse as, and the value
	Missing   bool
}

func (e *KeyError) Error() string {
	if e.Missing {
		return fmt.Sprintf("key %q is missing", e.Key)
	}
	return fmt.Sprintf("key %q: want %s, got %q", e.Key, e.Want, e.Got)
}

// END keyerror OMIT

// Certificates validates the bundle: every PEM block must be a parseable certificate.
// START validate OMIT
func (b CABundle) Certificates() ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := []byte(b.CACert)
	for n := 1; ; n++ {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err) // anyhow's .context()
		}
		certs = append(certs, cert)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("trailing data that is not PEM")
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return certs, nil
}

// END validate OMIT

// checkBundle turns one ConfigMap into report rows, one per certificate.
func (c *CAChecker) checkBundle(cm *corev1.ConfigMap, o CAOptions) []CARow {
	// START errorsas OMIT
	bundle, err := DecodeCABundle(cm)
	var ke *KeyError
	if errors.As(err, &ke) && ke.Missing { // like a match on the error enum's variant
		return []CARow{{Namespace: cm.Namespace, Status: StatusMissing, Reason: fmt.Sprintf("configmap %s has no key %q", cm.Name, ke.Key)}}
	}
	certs, err := bundle.Certificates()
	if err != nil {
		return []CARow{{Namespace: cm.Namespace, Status: StatusInvalid, Reason: fmt.Sprintf("key %q: %v", "ca.crt", err)}}
	}
	// END errorsas OMIT
	return c.certRows(cm.Namespace, certs, o.ExpiresWithin)
}

// START settings OMIT
// Settings is an application's configuration in a ConfigMap: strings on the server, and
// the field types say how each must parse.
type Settings struct {
	Greeting        string        // key "greeting"
	Replicas        int           // key "replicas"
	Debug           bool          // key "debug"
	RefreshInterval time.Duration // key "refreshInterval"
}

// END settings OMIT

// START decode OMIT
// DecodeSettings decodes every key onto s; errors.Join reports every bad one, not only the first.
func DecodeSettings(cm *corev1.ConfigMap, s Settings) (Settings, error) {
	var errs []error
	for _, k := range SettingsKeys {
		v, ok := cm.Data[k.Key]
		if !ok {
			errs = append(errs, &KeyError{Key: k.Key, Missing: true})
		} else if err := s.Set(k.Key, v); err != nil {
			errs = append(errs, err)
		}
	}
	return s, errors.Join(errs...)
}

// END decode OMIT

// ApplySettings writes all keys with server-side apply, as field manager FieldManager.
func ApplySettings(ctx context.Context, c client.Client, key client.ObjectKey, s Settings) error {
	// START apply OMIT
	cm := corev1ac.ConfigMap(key.Name, key.Namespace).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": FieldManager}).
		WithData(s.Data())
	if err := c.Apply(ctx, cm, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying configmap %s: %w", key, err)
	}
	// END apply OMIT
	return nil
}
