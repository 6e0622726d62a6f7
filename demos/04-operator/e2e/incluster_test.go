//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/image"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
	"github.com/kubeworkshop/kubeworkshop/harness/cluster"
	"github.com/kubeworkshop/kubeworkshop/harness/repo"
)

// How the suite runs the operator depends on what the cluster's nodes can
// do. Where they run images (kind), the operator runs in-cluster as
// config/default's Deployment, from the image `go tool mage
// operator:deploy` builds, with only its generated RBAC: a missing rule
// fails a spec. Where pods are simulated (kwok), it runs as a process on
// this machine, as `go tool mage operator:run` runs it.
var mode struct {
	once      sync.Once
	provider  *cluster.Provider
	inCluster bool
	why       string // LoadsImages' reason when not in-cluster
}

// inCluster reports whether the operator runs as the in-cluster Deployment.
func inCluster() bool {
	mode.once.Do(func() {
		p, err := cluster.NewFromEnv(cluster.WithLog(GinkgoWriter))
		Expect(err).NotTo(HaveOccurred())
		mode.provider = p
		if err := p.LoadsImages(); err != nil {
			mode.why = err.Error()
		} else {
			mode.inCluster = true
		}
	})
	return mode.inCluster
}

// providerName names the cluster provider, for skip reasons.
func providerName() string {
	inCluster()
	return mode.provider.ProviderName()
}

// e2eLeaderArgs shorten leader election so that a hand-over takes seconds,
// not the default 15 s Lease.
var e2eLeaderArgs = []string{
	"--leader-elect-lease-duration=4s",
	"--leader-elect-renew-deadline=3s",
	"--leader-elect-retry-period=500ms",
}

var imageOnce struct {
	sync.Once
	digest string
	err    error
}

// deployInCluster builds and loads the operator's image (once per suite)
// and applies config/default with one replica, waiting until the
// Deployment is Available: every container that needs the operator starts
// from that state, whatever ran before it.
func deployInCluster(ctx context.Context) {
	GinkgoHelper()
	root, err := repo.Root("")
	Expect(err).NotTo(HaveOccurred())
	imageOnce.Do(func() {
		By("building the operator's image and loading it into every node (what go tool mage operator:deploy does)")
		out := ops.OperatorImage(root) + ".e2e"
		d, err := image.Build(ctx, image.Options{Package: ops.Package, Dir: root, Tag: image.DefaultTag, Out: out, Progress: GinkgoWriter})
		if err == nil {
			err = mode.provider.LoadImage(ctx, out)
		}
		imageOnce.digest, imageOnce.err = d.String(), err
	})
	Expect(imageOnce.err).NotTo(HaveOccurred())
	By("applying config/default with one replica and waiting until the Deployment is Available")
	start := time.Now()
	Expect(ops.Deploy(ctx, suite.RESTConfig(), ops.DeployOptions{
		Image: image.DefaultTag, Digest: imageOnce.digest, Replicas: ptr.To[int32](1),
		Args: e2eLeaderArgs, Out: GinkgoWriter,
	})).To(Succeed())
	AddReportEntry("deployment Available after", time.Since(start).Round(100*time.Millisecond).String())
}

// scaleDeployment sets the Deployment's replicas through its scale
// subresource (like kubectl scale) and waits until it has rolled out and
// no pod beyond n is left terminating (one could still reconcile).
func scaleDeployment(ctx context.Context, n int32) {
	GinkgoHelper()
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ops.Namespace, Name: ops.DeploymentName}}
	scale := &autoscalingv1.Scale{Spec: autoscalingv1.ScaleSpec{Replicas: n}}
	Expect(suite.Client().SubResource("scale").Update(ctx, d, client.WithSubResourceBody(scale))).To(Succeed())
	Expect(ops.WaitAvailable(ctx, suite.Client(), 3*time.Minute)).To(Succeed())
	Eventually(func(g Gomega) {
		var pods corev1.PodList
		g.Expect(suite.Client().List(ctx, &pods, client.InNamespace(ops.Namespace),
			client.MatchingLabels{"app.kubernetes.io/name": ops.DeploymentName})).To(Succeed())
		g.Expect(pods.Items).To(HaveLen(int(n)))
	}).WithContext(ctx).WithTimeout(2 * time.Minute).Should(Succeed())
}

// operatorPods returns the names of the Deployment's pods that are not
// being deleted.
func operatorPods(ctx context.Context, g Gomega) []string {
	var pods corev1.PodList
	g.Expect(suite.Client().List(ctx, &pods, client.InNamespace(ops.Namespace),
		client.MatchingLabels{"app.kubernetes.io/name": ops.DeploymentName})).To(Succeed())
	var names []string
	for _, p := range pods.Items {
		if p.DeletionTimestamp == nil {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names
}

// scraper is a ServiceAccount in ns bound to the metrics-reader ClusterRole,
// and a token of it: what a Prometheus in the cluster would hold.
func scraper(ctx context.Context, ns string) string {
	GinkgoHelper()
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "scraper"}}
	Expect(suite.Client().Create(ctx, sa)).To(Succeed())
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "podset-metrics-" + ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ops.MetricsReaderRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: sa.Name}},
	}
	Expect(suite.Client().Create(ctx, binding)).To(Succeed())
	DeferCleanup(func(ctx SpecContext) {
		Expect(client.IgnoreNotFound(suite.Client().Delete(ctx, binding))).To(Succeed())
	})
	return tokenFor(ctx, sa)
}

// tokenFor returns a short-lived token of the ServiceAccount (TokenRequest).
func tokenFor(ctx context.Context, sa *corev1.ServiceAccount) string {
	GinkgoHelper()
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)}}
	Expect(suite.Client().SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	Expect(tr.Status.Token).NotTo(BeEmpty())
	return tr.Status.Token
}

// insecureClient trusts the operator's self-signed certificate: what is
// under test is who may read, not the certificate.
var insecureClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // self-signed test certificate
}}

// serviceEndpoint is one ready endpoint of the metrics Service: the pod it
// routes to and the port number its "https" port targets. Going through
// the Service's EndpointSlices checks its selector and targetPort.
func serviceEndpoint(ctx context.Context, g Gomega, pod string) (name string, port int32) {
	var slices discoveryv1.EndpointSliceList
	g.Expect(suite.Client().List(ctx, &slices, client.InNamespace(ops.Namespace),
		client.MatchingLabels{discoveryv1.LabelServiceName: ops.MetricsService})).To(Succeed())
	for _, s := range slices.Items {
		for _, p := range s.Ports {
			if ptr.Deref(p.Name, "") != "https" || p.Port == nil {
				continue
			}
			for _, e := range s.Endpoints {
				if e.TargetRef == nil || !ptr.Deref(e.Conditions.Ready, false) || (pod != "" && e.TargetRef.Name != pod) {
					continue
				}
				return e.TargetRef.Name, *p.Port
			}
		}
	}
	g.Expect(false).To(BeTrue(), "service %s/%s has no ready endpoint on port https (pod %q)", ops.Namespace, ops.MetricsService, pod)
	return "", 0
}

// forward port-forwards a free loopback port to port of the pod until the
// current node's scope ends (call it from a BeforeAll to keep it for the
// whole container), and returns the local port. It is what kubectl
// port-forward does, with client-go.
func forward(ctx context.Context, pod string, port int32) int {
	GinkgoHelper()
	cfg := suite.RESTConfig()
	transport, upgrader, err := spdy.RoundTripperFor(cfg)
	Expect(err).NotTo(HaveOccurred())
	url := suite.Clientset().CoreV1().RESTClient().Post().Resource("pods").Namespace(ops.Namespace).Name(pod).SubResource("portforward").URL()
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: transport}, http.MethodPost, url)
	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	fw, err := portforward.NewOnAddressesWithContext(fctx, dialer, []string{"127.0.0.1"}, []string{"0:" + strconv.Itoa(int(port))}, ready, GinkgoWriter, GinkgoWriter)
	Expect(err).NotTo(HaveOccurred())
	done := make(chan error, 1)
	go func() { done <- fw.ForwardPorts() }()
	DeferCleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		Fail(fmt.Sprintf("port-forward to pod %s: %v", pod, err))
	case <-ctx.Done():
		Fail("interrupted")
	}
	ports, err := fw.GetPorts()
	Expect(err).NotTo(HaveOccurred())
	return int(ports[0].Local)
}

// podMetrics reads one operator pod's metrics over HTTPS with a token, as
// a scraper in the cluster does.
type podMetrics struct {
	pod   string
	url   string
	token string
}

// metricsOf finds the metrics Service's endpoint for pod (any ready one
// when pod is empty) and forwards a local port to it.
func metricsOf(ctx context.Context, pod, token string) *podMetrics {
	GinkgoHelper()
	var port int32
	Eventually(func(g Gomega) { pod, port = serviceEndpoint(ctx, g, pod) }).WithContext(ctx).WithTimeout(time.Minute).Should(Succeed())
	local := forward(ctx, pod, port)
	return &podMetrics{pod: pod, url: fmt.Sprintf("https://127.0.0.1:%d/metrics", local), token: token}
}

// get returns the status code and body of GET /metrics with the given
// token ("" sends none).
func (m *podMetrics) get(ctx context.Context, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := insecureClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var b strings.Builder
	_, err = io.Copy(&b, resp.Body)
	return resp.StatusCode, b.String(), err
}

// metric implements metricsSource.
func (m *podMetrics) metric(ctx context.Context, g Gomega, prefix string) float64 {
	code, body, err := m.get(ctx, m.token)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(code).To(Equal(http.StatusOK), "GET %s of pod %s: %s", m.url, m.pod, body)
	return sumMetric(g, strings.Split(body, "\n"), prefix)
}
