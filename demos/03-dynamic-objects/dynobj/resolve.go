package dynobj

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/restmapper"
)

// Resolver turns what a user types into a resource the API serves, using discovery. It
// caches discovery in memory; Reset forgets it (after a CRD appears, for example).
type Resolver struct {
	discovery discovery.CachedDiscoveryInterface
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	expander  meta.RESTMapper
}

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
				Namespaced: res.Namespaced, Kind: res.Kind,
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
