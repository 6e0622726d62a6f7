package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/config"
)

// FieldOwner is the server-side apply field manager of everything ops
// applies.
const FieldOwner = client.FieldOwner("kubeworkshop-podset")

// Decode splits a multi-document YAML manifest into objects, skipping empty
// documents.
func Decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("decode manifest: %w", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		out = append(out, u)
	}
}

// Apply server-side applies every object of the manifests, in order. A
// non-empty namespace is set on objects that have none (namespaced kinds
// only: cluster-scoped objects must not carry one).
func Apply(ctx context.Context, c client.Client, namespace string, manifests ...[]byte) ([]*unstructured.Unstructured, error) {
	var applied []*unstructured.Unstructured
	for _, m := range manifests {
		objs, err := Decode(m)
		if err != nil {
			return applied, err
		}
		for _, u := range objs {
			if namespace != "" && u.GetNamespace() == "" {
				namespaced, err := c.IsObjectNamespaced(u)
				if err != nil {
					return applied, fmt.Errorf("look up the scope of %s: %w", u.GroupVersionKind().Kind, err)
				}
				if namespaced {
					u.SetNamespace(namespace)
				}
			}
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), FieldOwner, client.ForceOwnership); err != nil {
				return applied, fmt.Errorf("apply %s %s: %w", u.GetKind(), client.ObjectKeyFromObject(u), err)
			}
			applied = append(applied, u)
		}
	}
	return applied, nil
}

// Install applies the CRDs, waits until the API server serves them, then
// applies the operator's namespace and RBAC. It prints one line per object
// to out.
func Install(ctx context.Context, cfg *rest.Config, out io.Writer) error {
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return fmt.Errorf("create client for %s: %w", cfg.Host, err)
	}
	crds, err := config.CRDs()
	if err != nil {
		return err
	}
	applied, err := Apply(ctx, c, "", crds...)
	if err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	for _, u := range applied {
		fmt.Fprintf(out, "applied %s %s\n", u.GetKind(), u.GetName())
		if err := waitEstablished(ctx, c, u.GetName()); err != nil {
			return err
		}
	}

	ns, err := config.File("manager/namespace.yaml")
	if err != nil {
		return err
	}
	rbac, err := config.RBAC()
	if err != nil {
		return err
	}
	applied, err = Apply(ctx, c, "", append([][]byte{ns}, rbac...)...)
	if err != nil {
		return fmt.Errorf("install RBAC: %w", err)
	}
	for _, u := range applied {
		fmt.Fprintf(out, "applied %s %s\n", u.GetKind(), client.ObjectKeyFromObject(u))
	}
	return nil
}

// waitEstablished waits until the named CRD reports Established=True, after
// which its kinds can be used.
func waitEstablished(ctx context.Context, c client.Client, name string) error {
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, crd); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, raw := range conds {
			if m, ok := raw.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for CRD %s to be established: %w", name, err)
	}
	return nil
}
