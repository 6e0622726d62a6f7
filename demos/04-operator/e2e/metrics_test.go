//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The in-cluster default (config/manager): metrics over HTTPS, and every
// caller authenticated (TokenReview) and authorized to GET /metrics
// (SubjectAccessReview).
var _ = Describe("metrics with --metrics-secure (through the metrics Service in-cluster)", Ordered, func() {
	var (
		ns  string
		url string
	)
	get := func(ctx context.Context, token string) (int, error) {
		code, _, err := (&podMetrics{url: url}).get(ctx, token)
		return code, err
	}

	BeforeAll(func(ctx SpecContext) {
		ns = suite.NewNamespace(ctx, "metrics")
		if inCluster() {
			deployInCluster(ctx)
			By("forwarding a local port to an endpoint of the metrics Service")
			url = metricsOf(ctx, "", "").url
			return
		}
		bin := prepare(ctx)
		port := freePort()
		url = fmt.Sprintf("https://127.0.0.1:%d/metrics", port)
		By("starting the operator with --metrics-secure")
		op := startOperator(bin, "--metrics-secure", "--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", port))
		op.waitReady(ctx)
	})

	It("refuses a request without a token", func(ctx SpecContext) {
		Eventually(func() (int, error) { return get(ctx, "") }).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(http.StatusUnauthorized))
	})

	It("refuses a valid token that may not GET /metrics", func(ctx SpecContext) {
		stranger := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stranger"}}
		Expect(suite.Client().Create(ctx, stranger)).To(Succeed())
		token := tokenFor(ctx, stranger)
		Eventually(func() (int, error) { return get(ctx, token) }).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(http.StatusForbidden))
	})

	It("serves a token bound to the podset-operator-metrics-reader ClusterRole", func(ctx SpecContext) {
		token := scraper(ctx, ns)
		Eventually(func() (int, error) { return get(ctx, token) }).WithContext(ctx).WithTimeout(time.Minute).Should(Equal(http.StatusOK))
	})
})
