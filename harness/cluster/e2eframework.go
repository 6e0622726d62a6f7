package cluster

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"

	"github.com/kubeworkshop/kubeworkshop/harness/binaries"
)

// Provider satisfies e2e-framework's cluster provider interface, so
// envfuncs.CreateCluster(provider, name) and envfuncs.DestroyCluster(name)
// work with the workshop's clusters unchanged.
var _ support.E2EClusterProvider = (*Provider)(nil)

// WithName implements support.E2EClusterProvider: it renames the cluster
// this Provider manages. An invalid name is reported by Create.
func (p *Provider) WithName(name string) support.E2EClusterProvider {
	p.o.name = name
	p.err = p.init() // a later valid name clears an earlier error
	return p
}

// WithVersion implements support.E2EClusterProvider. The binaries are
// pinned, so only their version (or "") is accepted; another is reported
// by Create.
func (p *Provider) WithVersion(version string) support.E2EClusterProvider {
	if version != "" && strings.TrimPrefix(version, "v") != strings.TrimPrefix(binaries.KubernetesVersion, "v") {
		p.err = fmt.Errorf("%w: Kubernetes %s requested, but the workshop's binaries are pinned to %s (tools/go.mod)", ErrUnsupported, version, binaries.KubernetesVersion)
	}
	return p
}

// WithPath implements support.E2EClusterProvider. The workshop always uses
// its own pinned kwokctl/kind, so the path is ignored.
func (p *Provider) WithPath(string) support.E2EClusterProvider { return p }

// WithOpts implements support.E2EClusterProvider.
func (p *Provider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(p)
	}
	return p
}

// SetDefaults implements support.E2EClusterProvider.
func (p *Provider) SetDefaults() support.E2EClusterProvider { return p }

// Create implements support.E2EClusterProvider: Up, returning the
// kubeconfig path. Extra command-line arguments are not supported.
func (p *Provider) Create(ctx context.Context, args ...string) (string, error) {
	if len(args) > 0 {
		return "", fmt.Errorf("%w: extra create arguments %q; use CreateWithConfig with a config file", ErrUnsupported, args)
	}
	if _, err := p.Up(ctx); err != nil {
		return "", err
	}
	return p.KubeconfigPath(), nil
}

// CreateWithConfig implements support.E2EClusterProvider: Up with a
// provider-native config file (a kwokctl or kind config) applied on top of
// the workshop's own.
func (p *Provider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	p.o.configFile = configFile
	return p.Create(ctx)
}

// GetKubeconfig implements support.E2EClusterProvider.
func (p *Provider) GetKubeconfig() string { return p.KubeconfigPath() }

// GenerateKubeconfig implements support.E2EClusterProvider.
func (p *Provider) GenerateKubeconfig(...string) (string, error) { return p.KubeconfigPath(), nil }

// GetKubectlContext implements support.E2EClusterProvider.
func (p *Provider) GetKubectlContext() string {
	cfg, err := clientcmd.LoadFromFile(p.KubeconfigPath())
	if err != nil {
		return ""
	}
	return cfg.CurrentContext
}

// Destroy implements support.E2EClusterProvider: Down.
func (p *Provider) Destroy(ctx context.Context) error { return p.Down(ctx) }

// WaitForControlPlane implements support.E2EClusterProvider.
func (p *Provider) WaitForControlPlane(ctx context.Context, _ klient.Client) error {
	return p.waitReady(ctx, p.o.waitTimeout)
}

// KubernetesRestConfig implements support.E2EClusterProvider; nil when the
// kubeconfig cannot be loaded.
func (p *Provider) KubernetesRestConfig() *rest.Config {
	cfg, err := p.RESTConfig()
	if err != nil {
		return nil
	}
	return cfg
}
