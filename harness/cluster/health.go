package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Health is what a health check saw.
type Health struct {
	Server     string // API server URL
	Nodes      int    // nodes registered
	ReadyNodes int    // nodes whose Ready condition is True
}

// startingError marks a health failure a cluster passes through while it
// comes up: the API server answers but is not ready yet, no node has
// registered or become Ready, or the default ServiceAccount is not there
// yet. An unreachable server or refused credentials are not among them.
type startingError struct{ error }

func (e startingError) Unwrap() error { return e.error }

// starting reports whether err, from checkHealth, may go away by waiting.
func starting(err error) bool { return errors.As(err, new(startingError)) }

// checkHealth reports an error unless the API server answers /readyz, at
// least one node exists and every node the provider runs is Ready, and the
// default ServiceAccount exists (right after startup the "default"
// namespace may not be usable yet). Nodes the provider does not run (a
// node agent of demo 05 that was stopped) do not make the cluster
// unhealthy.
func (p *Provider) checkHealth(ctx context.Context, kubeconfig string) (Health, error) {
	cfg, err := restConfig(kubeconfig)
	if err != nil {
		return Health{}, err
	}
	h := Health{Server: cfg.Host}
	cfg.Timeout = 5 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return h, err
	}
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		err = fmt.Errorf("API server %s is not ready: %w", cfg.Host, err)
		if apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) {
			err = startingError{err}
		}
		return h, err
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return h, fmt.Errorf("list nodes: %w", err)
	}
	var notReady []string
	for _, n := range nodes.Items {
		if !p.b.RunsNode(&n) {
			continue
		}
		if nodeReady(&n) {
			h.ReadyNodes++
		} else {
			notReady = append(notReady, n.Name)
		}
	}
	h.Nodes = len(nodes.Items)
	switch {
	case h.Nodes == 0:
		return h, startingError{errors.New("no nodes registered yet")}
	case len(notReady) > 0:
		return h, startingError{fmt.Errorf("nodes not Ready: %s", strings.Join(notReady, ", "))}
	}
	if _, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		err = fmt.Errorf("default ServiceAccount: %w", err)
		if apierrors.IsNotFound(err) {
			err = startingError{err}
		}
		return h, err
	}
	return h, nil
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitReady polls the health check until it passes or timeout elapses.
func (p *Provider) waitReady(ctx context.Context, timeout time.Duration) error {
	var last error
	var fault error
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if fault = p.b.Check(ctx); fault != nil {
			return false, fault
		}
		_, last = p.checkHealth(ctx, p.KubeconfigPath())
		return last == nil, nil
	})
	if err == nil {
		return nil
	}
	if fault != nil {
		return fmt.Errorf("%w: %w", ErrNotReady, fault)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w after %s: %v", ErrNotReady, timeout, last)
}

// Status describes a cluster as Status found it.
type Status struct {
	Provider   string
	Name       string
	Exists     bool
	Healthy    bool
	Problem    string // why it is not healthy
	Kubeconfig string
	Health
}

// String renders the status for people.
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "provider:   %s\nname:       %s\n", s.Provider, s.Name)
	switch {
	case !s.Exists:
		b.WriteString("state:      absent (run `go tool mage cluster:up`)\n")
		return b.String()
	case s.Healthy:
		b.WriteString("state:      healthy\n")
	default:
		fmt.Fprintf(&b, "state:      unhealthy: %s\n", s.Problem)
	}
	fmt.Fprintf(&b, "server:     %s\nnodes:      %d/%d Ready\nkubeconfig: %s\n", s.Server, s.ReadyNodes, s.Nodes, s.Kubeconfig)
	return b.String()
}

// Status reports whether the cluster exists and is healthy. Only a failure
// to find out is an error; an absent or unhealthy cluster is a Status.
func (p *Provider) Status(ctx context.Context) (Status, error) {
	s := Status{Provider: p.o.provider, Name: p.o.name, Kubeconfig: p.KubeconfigPath()}
	exists, err := p.b.Exists(ctx)
	if err != nil {
		return s, fmt.Errorf("%s cluster %q: %w", p.o.provider, p.o.name, err)
	}
	s.Exists = exists
	if !exists {
		return s, nil
	}
	s.Health, err = p.checkHealth(ctx, s.Kubeconfig)
	s.Healthy = err == nil
	if err != nil {
		s.Problem = err.Error()
	}
	return s, nil
}
