//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The in-cluster default (config/manager): metrics over HTTPS, and every
// caller authenticated (TokenReview) and authorized to GET /metrics
// (SubjectAccessReview).
var _ = Describe("metrics with --metrics-secure", Ordered, func() {
	var (
		ns  string
		url string
	)
	// The operator's certificate is self-signed; what is under test is who
	// may read, not the certificate.
	httpc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificate
	}}
	get := func(ctx context.Context, token string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := httpc.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// tokenFor creates a ServiceAccount in ns and returns a token for it.
	tokenFor := func(ctx context.Context, name string) string {
		GinkgoHelper()
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
		Expect(suite.Client().Create(ctx, sa)).To(Succeed())
		tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
		Expect(suite.Client().SubResource("token").Create(ctx, sa, tr)).To(Succeed())
		Expect(tr.Status.Token).NotTo(BeEmpty())
		return tr.Status.Token
	}

	BeforeAll(func(ctx SpecContext) {
		bin := prepare(ctx)
		ns = suite.NewNamespace(ctx, "metrics")
		port := freePort()
		url = fmt.Sprintf("https://127.0.0.1:%d/metrics", port)
		By("starting the operator with --metrics-secure")
		op := startOperator(bin, "--metrics-secure", "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", port))
		op.waitReady(ctx)
	})

	It("refuses a request without a token", func(ctx SpecContext) {
		Eventually(func() (int, error) { return get(ctx, "") }).WithContext(ctx).Should(Equal(http.StatusUnauthorized))
	})

	It("refuses a valid token that may not GET /metrics", func(ctx SpecContext) {
		token := tokenFor(ctx, "stranger")
		Eventually(func() (int, error) { return get(ctx, token) }).WithContext(ctx).Should(Equal(http.StatusForbidden))
	})

	It("serves a token bound to the podset-operator-metrics-reader ClusterRole", func(ctx SpecContext) {
		token := tokenFor(ctx, "scraper")
		binding := &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "podset-metrics-" + ns},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "podset-operator-metrics-reader"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "scraper"}},
		}
		Expect(suite.Client().Create(ctx, binding)).To(Succeed())
		DeferCleanup(func(ctx SpecContext) {
			Expect(client.IgnoreNotFound(suite.Client().Delete(ctx, binding))).To(Succeed())
		})
		Eventually(func() (int, error) { return get(ctx, token) }).WithContext(ctx).Should(Equal(http.StatusOK))
	})
})
