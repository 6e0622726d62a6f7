package typedcm

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// DefaultCAConfigMap is the ConfigMap every namespace gets from the
// root-ca-cert-publisher controller.
const DefaultCAConfigMap = "kube-root-ca.crt"

// Statuses reported per row.
const (
	StatusOK          = "ok"
	StatusExpiresSoon = "expires-soon"
	StatusInvalid     = "invalid"
	StatusMissing     = "missing"
)

// CAOptions says which ConfigMaps to check.
type CAOptions struct {
	// Namespace to check; "" checks every namespace.
	Namespace string
	// Name of the ConfigMap holding the PEM bundle under the key "ca.crt".
	Name string
	// ExpiresWithin turns an ok certificate into expires-soon.
	ExpiresWithin time.Duration
}

// CARow is one line of the report: a certificate, or a namespace whose bundle could not
// be read (then Subject, Issuer and NotAfter are empty and Reason says why).
type CARow struct {
	Namespace string
	Subject   string
	Issuer    string
	NotAfter  time.Time
	Status    string
	Reason    string
}

// CAChecker reads CA bundles with a controller-runtime reader.
type CAChecker struct {
	Client client.Reader
	Now    func() time.Time
}

// Check returns one or more rows per namespace, sorted by namespace. Problems with a
// namespace's bundle become rows; only failures to talk to the API are errors.
func (c *CAChecker) Check(ctx context.Context, o CAOptions) ([]CARow, error) {
	namespaces, bundles, err := c.read(ctx, o)
	if err != nil {
		return nil, err
	}
	var rows []CARow
	for _, ns := range namespaces {
		cm, ok := bundles[ns]
		if !ok {
			rows = append(rows, CARow{Namespace: ns, Status: StatusMissing, Reason: fmt.Sprintf("configmap %s not found", o.Name)})
			continue
		}
		rows = append(rows, c.checkBundle(cm, o)...)
	}
	return rows, nil
}

// read fetches the namespaces to report on and the ConfigMaps found in them.
func (c *CAChecker) read(ctx context.Context, o CAOptions) ([]string, map[string]*corev1.ConfigMap, error) {
	bundles := map[string]*corev1.ConfigMap{}
	if o.Namespace != "" {
		cm := &corev1.ConfigMap{}
		err := c.Client.Get(ctx, client.ObjectKey{Namespace: o.Namespace, Name: o.Name}, cm)
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			return nil, nil, fmt.Errorf("reading configmap %s/%s: %w", o.Namespace, o.Name, err)
		default:
			bundles[o.Namespace] = cm
		}
		return []string{o.Namespace}, bundles, nil
	}

	// Two list calls instead of one GET per namespace: every namespace, then only the
	// ConfigMaps with the wanted name (a field selector the API server evaluates).
	var namespaces []string
	err := listPages(ctx, c.Client, &corev1.NamespaceList{}, nil, func(l client.ObjectList) {
		for _, ns := range l.(*corev1.NamespaceList).Items {
			namespaces = append(namespaces, ns.Name)
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing namespaces: %w", err)
	}
	err = listPages(ctx, c.Client, &corev1.ConfigMapList{}, []client.ListOption{client.MatchingFields{"metadata.name": o.Name}}, func(l client.ObjectList) {
		for i := range l.(*corev1.ConfigMapList).Items {
			cm := &l.(*corev1.ConfigMapList).Items[i]
			bundles[cm.Namespace] = cm
		}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("listing configmaps named %s: %w", o.Name, err)
	}
	sort.Strings(namespaces)
	return namespaces, bundles, nil
}

// listPages lists with limit/continue, handing each page to fn.
func listPages(ctx context.Context, r client.Reader, list client.ObjectList, opts []client.ListOption, fn func(client.ObjectList)) error {
	cont := ""
	for {
		page := list.DeepCopyObject().(client.ObjectList)
		if err := r.List(ctx, page, append(opts, client.Limit(500), client.Continue(cont))...); err != nil {
			return err
		}
		fn(page)
		if cont = page.GetContinue(); cont == "" {
			return nil
		}
	}
}

// certRows reports each certificate: ok, expires-soon, or invalid when out of its
// validity period.
func (c *CAChecker) certRows(namespace string, certs []*x509.Certificate, expiresWithin time.Duration) []CARow {
	rows := make([]CARow, len(certs))
	for i, cert := range certs {
		rows[i] = c.certRow(namespace, cert, expiresWithin)
	}
	return rows
}

func (c *CAChecker) certRow(namespace string, cert *x509.Certificate, expiresWithin time.Duration) CARow {
	row := CARow{Namespace: namespace, Subject: cert.Subject.String(), Issuer: cert.Issuer.String(), NotAfter: cert.NotAfter, Status: StatusOK}
	now := c.Now()
	switch {
	case now.After(cert.NotAfter):
		row.Status, row.Reason = StatusInvalid, "expired "+cert.NotAfter.UTC().Format(time.RFC3339)
	case now.Before(cert.NotBefore):
		row.Status, row.Reason = StatusInvalid, "not valid before "+cert.NotBefore.UTC().Format(time.RFC3339)
	case cert.NotAfter.Sub(now) < expiresWithin:
		row.Status, row.Reason = StatusExpiresSoon, "expires in "+cli.Age(cert.NotAfter, now)
	}
	return row
}

// PrintCARows writes the report table.
func PrintCARows(w io.Writer, rows []CARow) error {
	t := cli.NewTable(w)
	t.Row("NAMESPACE", "SUBJECT", "ISSUER", "NOT-AFTER", "STATUS", "REASON")
	for _, r := range rows {
		notAfter := ""
		if !r.NotAfter.IsZero() {
			notAfter = r.NotAfter.UTC().Format(time.DateOnly)
		}
		t.Row(r.Namespace, r.Subject, r.Issuer, notAfter, r.Status, r.Reason)
	}
	return t.Flush()
}

// Failed returns an error naming the namespaces whose bundle is missing or invalid, or
// nil when every row is ok or expires-soon.
func Failed(rows []CARow) error {
	var bad []string
	seen := map[string]bool{}
	for _, r := range rows {
		if (r.Status == StatusMissing || r.Status == StatusInvalid) && !seen[r.Namespace] {
			seen[r.Namespace] = true
			bad = append(bad, r.Namespace)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("the CA bundle is missing or invalid in %d namespace(s): %s", len(bad), strings.Join(bad, ", "))
}
