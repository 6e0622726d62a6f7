package dynobj

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// pageSize bounds each list request; get follows continue tokens until the end.
const pageSize = 500

// Reader reads objects of a resolved resource as unstructured data. The two
// implementations are the two untyped client styles this demo compares.
type Reader interface {
	Get(ctx context.Context, res Resource, namespace, name string) (*unstructured.Unstructured, error)
	// ListPage returns one page; namespace "" lists across namespaces.
	ListPage(ctx context.Context, res Resource, namespace, cont string) (*unstructured.UnstructuredList, error)
}

// Get implements Reader.
func (d *DynamicReader) Get(ctx context.Context, res Resource, namespace, name string) (*unstructured.Unstructured, error) {
	return d.resource(res, namespace).Get(ctx, name, metav1.GetOptions{})
}

// ListPage implements Reader.
func (d *DynamicReader) ListPage(ctx context.Context, res Resource, namespace, cont string) (*unstructured.UnstructuredList, error) {
	return d.resource(res, namespace).List(ctx, metav1.ListOptions{Limit: pageSize, Continue: cont})
}

// ListPage implements Reader.
func (c *ControllerRuntimeReader) ListPage(ctx context.Context, res Resource, namespace, cont string) (*unstructured.UnstructuredList, error) {
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(res.GVK.GroupVersion().WithKind(res.GVK.Kind + "List"))
	opts := []client.ListOption{client.Limit(pageSize), client.Continue(cont)}
	if res.Namespaced && namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := c.Client.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	return list, nil
}

// GetOptions is a parsed `get` command.
type GetOptions struct {
	Resource      string
	Name          string
	Namespace     string
	AllNamespaces bool
	Output        string
}

// Getter runs `get`.
type Getter struct {
	Resolver *Resolver
	Reader   Reader
	Out      io.Writer
	Now      func() time.Time
}

// Run resolves the resource, reads one object or all of them, and prints them.
func (g *Getter) Run(ctx context.Context, o GetOptions) error {
	res, err := g.Resolver.Resolve(o.Resource)
	if err != nil {
		return err
	}
	ns := o.Namespace
	if o.AllNamespaces || !res.Namespaced {
		ns = ""
	}
	if o.Name != "" {
		obj, err := g.Reader.Get(ctx, res, ns, o.Name)
		if err != nil {
			return fmt.Errorf("getting %s %q: %w", res.QualifiedKind(), o.Name, err)
		}
		return g.print(res, []unstructured.Unstructured{*obj}, o, true)
	}
	var items []unstructured.Unstructured
	cont := ""
	for {
		page, err := g.Reader.ListPage(ctx, res, ns, cont)
		if err != nil {
			return fmt.Errorf("listing %s: %w", res.GVR.GroupResource(), err)
		}
		items = append(items, page.Items...)
		if cont = page.GetContinue(); cont == "" {
			break
		}
	}
	return g.print(res, items, o, false)
}

func (g *Getter) print(res Resource, items []unstructured.Unstructured, o GetOptions, single bool) error {
	switch o.Output {
	case cli.OutputName:
		for _, it := range items {
			if _, err := fmt.Fprintf(g.Out, "%s/%s\n", res.QualifiedKind(), it.GetName()); err != nil {
				return err
			}
		}
		return nil
	case cli.OutputJSON, cli.OutputYAML:
		var doc any
		if single {
			doc = items[0].Object
		} else {
			objs := make([]any, len(items))
			for i := range items {
				objs[i] = items[i].Object
			}
			doc = map[string]any{"apiVersion": "v1", "kind": "List", "items": objs}
		}
		var b []byte
		var err error
		if o.Output == cli.OutputJSON {
			b, err = json.MarshalIndent(doc, "", "    ")
			b = append(b, '\n')
		} else {
			b, err = yaml.Marshal(doc)
		}
		if err != nil {
			return fmt.Errorf("encoding output: %w", err)
		}
		_, err = g.Out.Write(b)
		return err
	}
	if len(items) == 0 {
		where := ""
		if res.Namespaced && !o.AllNamespaces {
			where = fmt.Sprintf(" in namespace %s", o.Namespace)
		}
		_, err := fmt.Fprintf(g.Out, "No %s found%s.\n", res.GVR.Resource, where)
		return err
	}
	withNS := res.Namespaced && o.AllNamespaces
	t := cli.NewTable(g.Out)
	if withNS {
		t.Row("NAMESPACE", "NAME", "KIND", "AGE")
	} else {
		t.Row("NAME", "KIND", "AGE")
	}
	for _, it := range items {
		age := cli.Age(g.Now(), it.GetCreationTimestamp().Time)
		if withNS {
			t.Row(it.GetNamespace(), it.GetName(), res.GVK.Kind, age)
		} else {
			t.Row(it.GetName(), res.GVK.Kind, age)
		}
	}
	return t.Flush()
}

// PrintResources writes the `resources` table (or resource.group names with -o name).
func PrintResources(w io.Writer, rs []APIResource, output string) error {
	if output == cli.OutputName {
		for _, r := range rs {
			name := r.Name
			if g := groupOf(r.APIVersion); g != "" {
				name += "." + g
			}
			if _, err := fmt.Fprintln(w, name); err != nil {
				return err
			}
		}
		return nil
	}
	t := cli.NewTable(w)
	t.Row("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")
	for _, r := range rs {
		short := ""
		for i, s := range r.ShortNames {
			if i > 0 {
				short += ","
			}
			short += s
		}
		t.Row(r.Name, short, r.APIVersion, fmt.Sprint(r.Namespaced), r.Kind)
	}
	return t.Flush()
}
