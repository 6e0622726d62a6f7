package dynobj

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// Resolver turns what a user types into a resource the API serves, using discovery. It
// caches discovery in memory; Reset forgets it (after a CRD appears, for example).
type Resolver struct {
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	expander  meta.RESTMapper
}

// NewResolver builds a Resolver over a discovery client.
// START resolver OMIT
func NewResolver(dc discovery.DiscoveryInterface) *Resolver {
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	return &Resolver{
		discovery: cached,
		mapper:    mapper,
		// The shortcut expander knows short names ("po", "deploy") from discovery.
		expander: restmapper.NewShortcutExpander(mapper, cached, func(string) {}),
	}
}

// END resolver OMIT

// Mapper is the RESTMapper behind the resolver, for clients that need one (the
// controller-runtime client). It sees every Reset.
func (r *Resolver) Mapper() meta.ResettableRESTMapper { return r.mapper }

// Reset drops cached discovery so newly installed resources become visible.
func (r *Resolver) Reset() { r.mapper.Reset() }

// Resource is a resolved resource: where it lives and what it is called.
type Resource struct {
	GVR        schema.GroupVersionResource
	GVK        schema.GroupVersionKind
	Namespaced bool
}

// QualifiedKind renders the kind as kubectl's `-o name` does: "pod", "deployment.apps".
func (r Resource) QualifiedKind() string {
	k := strings.ToLower(r.GVK.Kind)
	if r.GVK.Group != "" {
		k += "." + r.GVK.Group
	}
	return k
}

// UnknownResourceError reports a resource the server does not serve, with close matches.
type UnknownResourceError struct {
	Name        string
	Suggestions []string
}

// Error implements error.
func (e *UnknownResourceError) Error() string {
	msg := fmt.Sprintf("the server doesn't have a resource type %q", e.Name)
	if len(e.Suggestions) > 0 {
		msg += fmt.Sprintf("; did you mean %s?", strings.Join(quoteAll(e.Suggestions), " or "))
	}
	return msg + " (list what it serves with `dynamic-objects resources`)"
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// Resolve accepts a plural ("pods"), singular ("pod"), short name ("po"), kind ("Pod"),
// or a group-qualified form ("deployments.apps", "deployments.v1.apps",
// "widgets.example.com") and returns the preferred version of that resource.
func (r *Resolver) Resolve(arg string) (Resource, error) {
	if arg == "" {
		return Resource{}, errors.New("empty resource name")
	}
	// START resolve OMIT
	var candidates []schema.GroupVersionResource
	fully, gr := schema.ParseResourceArg(arg)
	if fully != nil {
		candidates = append(candidates, *fully)
	}
	candidates = append(candidates, gr.WithVersion(""))
	var lastErr error
	for _, c := range candidates {
		gvr, err := r.expander.ResourceFor(c)
		if err != nil {
			lastErr = err
			continue
		}
		return r.forGVR(gvr)
	}
	// END resolve OMIT
	if meta.IsNoMatchError(lastErr) {
		return Resource{}, &UnknownResourceError{Name: arg, Suggestions: r.suggest(arg)}
	}
	return Resource{}, fmt.Errorf("resolving %q: %w", arg, lastErr)
}

func (r *Resolver) forGVR(gvr schema.GroupVersionResource) (Resource, error) {
	gvk, err := r.mapper.KindFor(gvr)
	if err != nil {
		return Resource{}, fmt.Errorf("finding the kind of %s: %w", gvr, err)
	}
	return r.forGVK(gvk)
}

func (r *Resolver) forGVK(gvk schema.GroupVersionKind) (Resource, error) {
	m, err := r.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return Resource{}, err
	}
	return Resource{GVR: m.Resource, GVK: m.GroupVersionKind, Namespaced: m.Scope.Name() == meta.RESTScopeNameNamespace}, nil
}

// ResolveKind maps an object's apiVersion and kind (as found in a manifest) to its resource.
func (r *Resolver) ResolveKind(gvk schema.GroupVersionKind) (Resource, error) {
	return r.forGVK(gvk)
}

// APIResource is one row of `dynamic-objects resources`.
type APIResource struct {
	Name       string
	ShortNames []string
	APIVersion string
	Namespaced bool
	Kind       string
	Verbs      []string
}

// Resources lists the served top-level resources in their preferred versions, sorted by
// group then name. When part of discovery failed (an aggregated API is down), it returns
// what it found together with the error.
func (r *Resolver) Resources() ([]APIResource, error) {
	lists, err := r.discovery.ServerPreferredResources()
	var out []APIResource
	for _, l := range lists {
		for _, res := range l.APIResources {
			if strings.Contains(res.Name, "/") {
				continue // subresources such as pods/log
			}
			out = append(out, APIResource{
				Name: res.Name, ShortNames: res.ShortNames, APIVersion: l.GroupVersion,
				Namespaced: res.Namespaced, Kind: res.Kind, Verbs: res.Verbs,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		gi, gj := groupOf(out[i].APIVersion), groupOf(out[j].APIVersion)
		if gi != gj {
			return gi < gj
		}
		return out[i].Name < out[j].Name
	})
	if err != nil {
		return out, fmt.Errorf("discovery was incomplete: %w", err)
	}
	return out, nil
}

func groupOf(apiVersion string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return apiVersion
	}
	return gv.Group
}

// suggest returns up to three served names close to arg.
func (r *Resolver) suggest(arg string) []string {
	lists, _ := r.discovery.ServerPreferredResources()
	want := strings.ToLower(arg)
	if i := strings.IndexByte(want, '.'); i > 0 {
		want = want[:i]
	}
	type scored struct {
		name string
		dist int
	}
	best := map[string]int{}
	consider := func(name, candidate string) {
		candidate = strings.ToLower(candidate)
		if candidate == "" {
			return
		}
		d := editDistance(want, candidate)
		if len(want) >= 3 && strings.HasPrefix(candidate, want) {
			d = min(d, 1)
		}
		// Allow about one typo per three letters of the shorter word.
		if limit := max(1, min(len(want), len(candidate))/3); d > limit {
			return
		}
		if old, ok := best[name]; !ok || d < old {
			best[name] = d
		}
	}
	for _, l := range lists {
		group := groupOf(l.GroupVersion)
		for _, res := range l.APIResources {
			if strings.Contains(res.Name, "/") {
				continue
			}
			name := qualified(res, group)
			consider(name, res.Name)
			consider(name, res.SingularName)
			consider(name, res.Kind)
			for _, s := range res.ShortNames {
				consider(name, s)
			}
		}
	}
	var all []scored
	for n, d := range best {
		all = append(all, scored{n, d})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].dist != all[j].dist {
			return all[i].dist < all[j].dist
		}
		return all[i].name < all[j].name
	})
	var out []string
	for i := 0; i < len(all) && i < 3; i++ {
		out = append(out, all[i].name)
	}
	return out
}

func qualified(res metav1.APIResource, group string) string {
	if group == "" {
		return res.Name
	}
	return res.Name + "." + group
}

// editDistance is the optimal-string-alignment distance between a and b: insertions,
// deletions, substitutions and swaps of two neighbouring letters each cost 1, so the
// typo "pdos" is one step from "pods".
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
