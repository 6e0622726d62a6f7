package dynobj

import (
	"encoding/json"
	"reflect"
	"strconv"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

var (
	now       = time.Date(2025, 4, 1, 12, 0, 0, 0, time.UTC)
	podsGVR   = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	nodesGVR  = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	cmGVR     = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	deployGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	widgetGVR = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
)

var verbs = metav1.Verbs{"get", "list", "watch", "create", "update", "patch", "delete"}

func builtinResources() []*metav1.APIResourceList {
	return []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", SingularName: "pod", Namespaced: true, Kind: "Pod", ShortNames: []string{"po"}, Verbs: verbs},
			{Name: "pods/log", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get"}},
			{Name: "podtemplates", SingularName: "podtemplate", Namespaced: true, Kind: "PodTemplate", Verbs: verbs},
			{Name: "nodes", SingularName: "node", Kind: "Node", ShortNames: []string{"no"}, Verbs: verbs},
			{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap", ShortNames: []string{"cm"}, Verbs: verbs},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment", ShortNames: []string{"deploy"}, Verbs: verbs},
		}},
		{GroupVersion: "apiextensions.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "customresourcedefinitions", SingularName: "customresourcedefinition", Kind: "CustomResourceDefinition", ShortNames: []string{"crd", "crds"}, Verbs: verbs},
		}},
	}
}

var widgetResources = &metav1.APIResourceList{GroupVersion: "example.com/v1", APIResources: []metav1.APIResource{
	{Name: "widgets", SingularName: "widget", Namespaced: true, Kind: "Widget", ShortNames: []string{"wd"}, Verbs: verbs},
}}

func newFakeDiscovery(extra ...*metav1.APIResourceList) *fakediscovery.FakeDiscovery {
	return &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{Resources: append(builtinResources(), extra...)}}
}

func listKinds() map[schema.GroupVersionResource]string {
	return map[schema.GroupVersionResource]string{
		podsGVR: "PodList", nodesGVR: "NodeList", cmGVR: "ConfigMapList", deployGVR: "DeploymentList",
		widgetGVR: "WidgetList", crdGVR: "CustomResourceDefinitionList",
	}
}

func object(apiVersion, kind, namespace, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetCreationTimestamp(metav1.NewTime(now.Add(-time.Hour)))
	return u
}

// ssaReactor makes the fake dynamic client answer server-side apply patches roughly as
// an API server does: create when absent, keep the resourceVersion when nothing changes,
// refuse a change to an object owned by another manager unless forced. A CRD becomes
// Established and its resource appears in discovery as soon as it is created.
type ssaReactor struct {
	t         *testing.T
	client    *dynamicfake.FakeDynamicClient
	discovery *fakediscovery.FakeDiscovery
	rv        int
	calls     int
	// deferEstablish leaves a new CRD without conditions; the test sets them later.
	deferEstablish bool
}

const ownerLabel = "test.kubeworkshop.dev/owner"

func (r *ssaReactor) react(action k8stesting.Action) (bool, runtime.Object, error) {
	pa, ok := action.(k8stesting.PatchActionImpl)
	if !ok || pa.GetPatchType() != types.ApplyPatchType {
		return false, nil, nil
	}
	r.calls++
	gvr, ns, name := pa.GetResource(), pa.GetNamespace(), pa.GetName()
	patch := &unstructured.Unstructured{}
	if err := json.Unmarshal(pa.GetPatch(), &patch.Object); err != nil {
		r.t.Fatalf("bad apply patch: %v", err)
	}
	manager := pa.PatchOptions.FieldManager
	force := pa.PatchOptions.Force != nil && *pa.PatchOptions.Force
	tracker := r.client.Tracker()
	existingObj, err := tracker.Get(gvr, ns, name)
	if apierrors.IsNotFound(err) {
		r.rv++
		patch.SetResourceVersion(strconv.Itoa(r.rv))
		patch.SetLabels(merge(patch.GetLabels(), map[string]string{ownerLabel: manager}))
		if gvr == crdGVR && !r.deferEstablish {
			_ = unstructured.SetNestedSlice(patch.Object, []any{map[string]any{"type": "Established", "status": "True"}}, "status", "conditions")
			r.discovery.Lock()
			r.discovery.Resources = append(r.discovery.Resources, widgetResources)
			r.discovery.Unlock()
		}
		if err := tracker.Create(gvr, patch, ns); err != nil {
			return true, nil, err
		}
		return true, patch, nil
	}
	if err != nil {
		return true, nil, err
	}
	existing := existingObj.(*unstructured.Unstructured)
	changed := false
	for k, v := range patch.Object {
		if k != "metadata" && k != "apiVersion" && k != "kind" && !reflect.DeepEqual(existing.Object[k], v) {
			changed = true
		}
	}
	if !changed {
		return true, existing, nil
	}
	if owner := existing.GetLabels()[ownerLabel]; owner != manager && !force {
		return true, nil, apierrors.NewApplyConflict(nil, "Apply failed with 1 conflict: conflict with \""+owner+"\"")
	}
	updated := existing.DeepCopy()
	for k, v := range patch.Object {
		if k != "metadata" {
			updated.Object[k] = v
		}
	}
	r.rv++
	updated.SetResourceVersion(strconv.Itoa(r.rv))
	updated.SetLabels(merge(updated.GetLabels(), map[string]string{ownerLabel: manager}))
	if err := tracker.Update(gvr, updated, ns); err != nil {
		return true, nil, err
	}
	return true, updated, nil
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
