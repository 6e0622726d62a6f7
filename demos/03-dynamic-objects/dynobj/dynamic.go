package dynobj

// The lesson of demo 03, in the talk's order: unstructured objects and two untyped clients;
// discovery and a RESTMapper; server-side apply of any object. The rest is plumbing.

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DynamicReader reads with the client-go dynamic client, addressed by
// group/version/resource. Objects come back as unstructured.Unstructured: nested maps.
type DynamicReader struct{ Client dynamic.Interface }

// START dynamic OMIT
func (d *DynamicReader) resource(res Resource, namespace string) dynamic.ResourceInterface {
	if res.Namespaced {
		return d.Client.Resource(res.GVR).Namespace(namespace)
	}
	return d.Client.Resource(res.GVR)
}

// END dynamic OMIT

// ControllerRuntimeReader reads with the controller-runtime client: an Unstructured
// object carries its group/version/kind, and the client's RESTMapper finds the resource.
type ControllerRuntimeReader struct{ Client client.Reader }

// Get implements Reader.
func (c *ControllerRuntimeReader) Get(ctx context.Context, res Resource, namespace, name string) (*unstructured.Unstructured, error) {
	// START crget OMIT
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(res.GVK)
	key := client.ObjectKey{Name: name}
	if res.Namespaced {
		key.Namespace = namespace
	}
	if err := c.Client.Get(ctx, key, u); err != nil {
		return nil, err
	}
	return u, nil
	// END crget OMIT
}

// definedKind reads, out of a CRD's unstructured map, the group and kind it defines.
func definedKind(crd *unstructured.Unstructured) schema.GroupKind {
	// START nested OMIT
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	// END nested OMIT
	return schema.GroupKind{Group: group, Kind: kind}
}

// NewResolver caches discovery in memory, builds a RESTMapper on it, and short names on top.
// START resolver OMIT
func NewResolver(dc discovery.DiscoveryInterface) *Resolver {
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	return &Resolver{
		discovery: cached,
		mapper:    mapper,
		expander:  restmapper.NewShortcutExpander(mapper, cached, func(string) {}),
	}
}

// END resolver OMIT

// Resolve accepts a plural ("pods"), singular ("pod"), short name ("po"), kind ("Pod"),
// or a group-qualified form ("deployments.apps", "deployments.v1.apps") and returns the
// preferred version of that resource.
func (r *Resolver) Resolve(arg string) (Resource, error) {
	// START resolve OMIT
	var candidates []schema.GroupVersionResource
	if fully, gr := schema.ParseResourceArg(arg); fully != nil {
		candidates = append(candidates, *fully, gr.WithVersion(""))
	} else {
		candidates = append(candidates, gr.WithVersion(""))
	}
	var err error
	for _, c := range candidates {
		var gvr schema.GroupVersionResource
		if gvr, err = r.expander.ResourceFor(c); err == nil {
			return r.forGVR(gvr)
		}
	}
	// END resolve OMIT
	if meta.IsNoMatchError(err) || arg == "" {
		return Resource{}, &UnknownResourceError{Name: arg, Suggestions: r.suggest(arg)}
	}
	return Resource{}, fmt.Errorf("resolving %q: %w", arg, err)
}

// applyOne server-side-applies one document; resourceVersions tell what changed.
func (a *Applier) applyOne(ctx context.Context, doc Document, defined map[schema.GroupKind]bool) (Resource, Outcome, error) {
	obj := doc.Object.DeepCopy()
	res, err := a.resolve(ctx, obj.GroupVersionKind(), defined)
	if err != nil {
		return res, "", err
	}
	if !res.Namespaced {
		obj.SetNamespace("")
	} else if obj.GetNamespace() == "" {
		obj.SetNamespace(a.Namespace)
	}
	ri := (&DynamicReader{Client: a.Client}).resource(res, obj.GetNamespace())
	before, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return res, "", fmt.Errorf("reading the current object: %w", err)
	}
	// START ssa OMIT
	after, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: a.FieldManager, Force: a.Force})
	if apierrors.IsConflict(err) {
		return res, "", fmt.Errorf("%w; another field manager owns these fields: re-run with --force-conflicts to take them over", err)
	}
	if err != nil {
		return res, "", err
	}
	// END ssa OMIT
	switch {
	case before == nil:
		return res, Created, nil
	case before.GetResourceVersion() == after.GetResourceVersion():
		return res, Unchanged, nil
	}
	return res, Configured, nil
}

// settle runs after each applied document. A CRD serves its kind only once it is
// Established and discovery is refreshed; only then do the instances that follow resolve.
func (a *Applier) settle(ctx context.Context, res Resource, doc Document, defined map[schema.GroupKind]bool) error {
	// START crdwait OMIT
	if res.GVR.GroupResource() != crdGVR.GroupResource() {
		return nil
	}
	gk, err := a.waitForCRD(ctx, doc.Object.GetName()) // a watch until Established, then Reset
	defined[gk] = true
	return err
	// END crdwait OMIT
}
