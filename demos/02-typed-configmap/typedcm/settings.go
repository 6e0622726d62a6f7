package typedcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/demos/02-typed-configmap/configdata"
	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// FieldManager is the server-side apply field manager the settings command writes as.
const FieldManager = "typed-configmap"

// DefaultSettingsName is the ConfigMap name used when --name is not given.
const DefaultSettingsName = "app-settings"

// Settings is an application's configuration kept in a ConfigMap. Every key is a string
// on the server; the field types say how each must parse.
// START settings OMIT
type Settings struct {
	Greeting        string        `json:"greeting"`
	Replicas        int           `json:"replicas"`
	Debug           bool          `json:"debug"`
	RefreshInterval time.Duration `json:"refreshInterval"`
}

// END settings OMIT

// DefaultSettings are the values used for keys a new or partial ConfigMap lacks.
func DefaultSettings() Settings {
	return Settings{Greeting: "hello", Replicas: 1, RefreshInterval: 30 * time.Second}
}

// Assignment is one KEY=VALUE argument of `settings set`.
type Assignment struct {
	Key, Value string
}

// ParseAssignments checks KEY=VALUE arguments against the Settings type without touching
// the cluster. All problems are reported together as a usage error naming each key and
// the type it expects.
func ParseAssignments(args []string) ([]Assignment, error) {
	if len(args) == 0 {
		return nil, cli.Usagef("settings set needs at least one KEY=VALUE argument")
	}
	var (
		out     []Assignment
		errs    []string
		scratch = DefaultSettings()
	)
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			errs = append(errs, fmt.Sprintf("argument %q is not KEY=VALUE", a))
			continue
		}
		if err := configdata.Set(&scratch, k, v); err != nil {
			errs = append(errs, err.Error())
			continue
		}
		out = append(out, Assignment{Key: k, Value: v})
	}
	if len(errs) > 0 {
		return nil, cli.Usagef("nothing was written: %s", strings.Join(errs, "; "))
	}
	return out, nil
}

// SettingsStore reads and writes Settings ConfigMaps with a controller-runtime client.
type SettingsStore struct {
	Client client.Client
}

// Get reads the settings. A key the ConfigMap lacks is an error naming it.
func (s *SettingsStore) Get(ctx context.Context, key client.ObjectKey) (Settings, error) {
	view, err := configdata.GetConfigMap[Settings](ctx, s.Client, key)
	if apierrors.IsNotFound(err) {
		return Settings{}, fmt.Errorf("configmap %s not found; create it with `typed-configmap settings set -n %s --name %s KEY=VALUE`: %w", key, key.Namespace, key.Name, err)
	}
	if err != nil {
		return Settings{}, err
	}
	return view.Data, nil
}

// Set applies the assignments on top of the current settings (or the defaults for keys
// the ConfigMap lacks) and writes the full set with server-side apply, then reads it back.
func (s *SettingsStore) Set(ctx context.Context, key client.ObjectKey, assignments []Assignment) (Settings, error) {
	current := DefaultSettings()
	view, err := configdata.GetConfigMap[Settings](ctx, s.Client, key)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		var ve *configdata.ValidationError
		if !errors.As(err, &ve) {
			return Settings{}, err
		}
		// Missing keys keep their defaults and keys being set now will be overwritten;
		// anything else is bad data we refuse to carry forward silently.
		var bad []string
		for _, fe := range ve.Fields {
			beingSet := slices.ContainsFunc(assignments, func(a Assignment) bool { return a.Key == fe.Key })
			if !fe.Missing && !beingSet {
				bad = append(bad, fe.Error())
			}
		}
		if len(bad) > 0 {
			return Settings{}, fmt.Errorf("configmap %s holds invalid values (%s); set those keys too", key, strings.Join(bad, "; "))
		}
		current = mergeValid(current, view.Data, ve)
	default:
		current = view.Data
	}
	for _, a := range assignments {
		if err := configdata.Set(&current, a.Key, a.Value); err != nil {
			return Settings{}, cli.Usagef("nothing was written: %w", err)
		}
	}
	data, err := configdata.Marshal(current)
	if err != nil {
		return Settings{}, err
	}
	// START apply OMIT
	cm := corev1ac.ConfigMap(key.Name, key.Namespace).
		WithLabels(map[string]string{"app.kubernetes.io/managed-by": FieldManager}).
		WithData(data)
	if err := s.Client.Apply(ctx, cm, client.FieldOwner(FieldManager), client.ForceOwnership); err != nil {
		return Settings{}, fmt.Errorf("applying configmap %s: %w", key, err)
	}
	// END apply OMIT
	return s.Get(ctx, key)
}

// mergeValid copies into base the fields of decoded whose keys had no problem.
func mergeValid(base, decoded Settings, ve *configdata.ValidationError) Settings {
	good, _ := configdata.Marshal(decoded)
	for _, k := range ve.Keys() {
		delete(good, k)
	}
	keys := make([]string, 0, len(good))
	for k := range good {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		_ = configdata.Set(&base, k, good[k])
	}
	return base
}

// PrintSettings writes settings as a KEY/VALUE/TYPE table, or as the ConfigMap data in
// JSON or YAML.
func PrintSettings(w io.Writer, s Settings, format string) error {
	data, err := configdata.Marshal(s)
	if err != nil {
		return err
	}
	switch format {
	case cli.OutputJSON:
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case cli.OutputYAML:
		b, err := yaml.Marshal(data)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	fields, err := configdata.Fields(s)
	if err != nil {
		return err
	}
	t := cli.NewTable(w)
	t.Row("KEY", "VALUE", "TYPE")
	for _, f := range fields {
		t.Row(f.Key, data[f.Key], f.Want)
	}
	return t.Flush()
}

func runSettings(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	verb, rest := cli.SplitCommand(args, "get", "set")
	switch {
	case verb != "":
	case slices.Contains(args, "-h") || slices.Contains(args, "--help"):
		fmt.Fprintln(stderr, usage)
		return nil
	case len(args) == 0:
		return cli.Usagef("settings needs a subcommand: get or set")
	default:
		return cli.Usagef("unknown settings subcommand %q (want get or set)", args[0])
	}
	var (
		kf     cli.KubeFlags
		name   string
		output string
	)
	fs := cli.NewFlagSet("typed-configmap settings "+verb, "typed-configmap settings "+verb+" reads or writes a typed settings ConfigMap.", stderr)
	kf.AddFlags(fs, false)
	fs.StringVar(&name, "name", DefaultSettingsName, "name of the settings ConfigMap")
	if verb == "get" {
		cli.AddOutputFlag(fs, &output, cli.OutputTable, cli.OutputJSON, cli.OutputYAML)
	}
	if err := cli.Parse(fs, rest); err != nil {
		return helpIsOK(err)
	}
	if name == "" {
		return cli.Usagef("--name must not be empty")
	}
	var assignments []Assignment
	switch verb {
	case "get":
		if fs.NArg() > 0 {
			return cli.Usagef("settings get takes no arguments, got %q", fs.Args())
		}
		var err error
		if output, err = cli.ValidateOutput(output, cli.OutputTable, cli.OutputJSON, cli.OutputYAML); err != nil {
			return err
		}
	case "set":
		// Validate every value against the struct before any network traffic.
		var err error
		if assignments, err = ParseAssignments(fs.Args()); err != nil {
			return err
		}
	}
	c, kube, err := newClient(ctx, &kf)
	if err != nil {
		return err
	}
	store := &SettingsStore{Client: c}
	key := client.ObjectKey{Namespace: kube.Namespace, Name: name}
	var s Settings
	if verb == "get" {
		s, err = store.Get(ctx, key)
	} else {
		s, err = store.Set(ctx, key, assignments)
	}
	if err != nil {
		return err
	}
	return PrintSettings(stdout, s, output)
}
