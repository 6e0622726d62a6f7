package typedcm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/kubeworkshop/kubeworkshop/demos/internal/cli"
)

// FieldManager is the server-side apply field manager the settings command writes as.
const FieldManager = "typed-configmap"

// DefaultSettingsName is the ConfigMap name used when --name is not given.
const DefaultSettingsName = "app-settings"

// SettingsKeys are the data keys of Settings and the type each must parse as.
var SettingsKeys = []struct{ Key, Want string }{
	{"greeting", "a string"}, {"replicas", "an integer"},
	{"debug", "a boolean (true or false)"}, {"refreshInterval", "a duration such as 30s or 5m"},
}

// Set parses value into the field for key; on error s is unchanged.
func (s *Settings) Set(key, value string) error {
	next := *s
	var err error
	switch key {
	case "greeting":
		next.Greeting = value
	case "replicas":
		next.Replicas, err = strconv.Atoi(value)
	case "debug":
		next.Debug, err = strconv.ParseBool(value)
	case "refreshInterval":
		next.RefreshInterval, err = time.ParseDuration(value)
	default:
		return fmt.Errorf("unknown key %q", key)
	}
	if err != nil {
		i := slices.IndexFunc(SettingsKeys, func(k struct{ Key, Want string }) bool { return k.Key == key })
		return &KeyError{Key: key, Want: SettingsKeys[i].Want, Got: value}
	}
	*s = next
	return nil
}

// Data encodes the settings back into ConfigMap data.
func (s Settings) Data() map[string]string {
	return map[string]string{"greeting": s.Greeting, "replicas": strconv.Itoa(s.Replicas),
		"debug": strconv.FormatBool(s.Debug), "refreshInterval": s.RefreshInterval.String()}
}

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
		if err := scratch.Set(k, v); err != nil {
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

func (s *SettingsStore) read(ctx context.Context, key client.ObjectKey) (*corev1.ConfigMap, error) {
	cm := &corev1.ConfigMap{}
	if err := s.Client.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("configmap %s not found; create it with `typed-configmap settings set -n %s --name %s KEY=VALUE`: %w", key, key.Namespace, key.Name, err)
		}
		return nil, fmt.Errorf("reading configmap %s: %w", key, err)
	}
	return cm, nil
}

// Get reads the settings. A key the ConfigMap lacks is an error naming it.
func (s *SettingsStore) Get(ctx context.Context, key client.ObjectKey) (Settings, error) {
	cm, err := s.read(ctx, key)
	if err != nil {
		return Settings{}, err
	}
	settings, err := DecodeSettings(cm, Settings{})
	if err != nil {
		return Settings{}, fmt.Errorf("configmap %s: %w", key, err)
	}
	return settings, nil
}

// Set applies the assignments on top of the current settings (or the defaults for keys
// the ConfigMap lacks) and writes the full set with server-side apply, then reads it back.
// A value that is bad on the server and not being set now is refused, not carried on.
func (s *SettingsStore) Set(ctx context.Context, key client.ObjectKey, assignments []Assignment) (Settings, error) {
	current := DefaultSettings()
	cm, err := s.read(ctx, key)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return Settings{}, err
	default:
		var decodeErr error
		current, decodeErr = DecodeSettings(cm, current)
		var bad []string
		for _, e := range unwrapAll(decodeErr) {
			// A missing key keeps its default, a bad one being set now is overwritten.
			var ke *KeyError
			if errors.As(e, &ke) && (ke.Missing || slices.ContainsFunc(assignments, func(a Assignment) bool { return a.Key == ke.Key })) {
				continue
			}
			bad = append(bad, e.Error())
		}
		if len(bad) > 0 {
			return Settings{}, fmt.Errorf("configmap %s holds invalid values (%s); set those keys too", key, strings.Join(bad, "; "))
		}
	}
	for _, a := range assignments {
		if err := current.Set(a.Key, a.Value); err != nil {
			return Settings{}, cli.Usagef("nothing was written: %w", err)
		}
	}
	if err := ApplySettings(ctx, s.Client, key, current); err != nil {
		return Settings{}, err
	}
	return s.Get(ctx, key)
}

// unwrapAll returns the errors an errors.Join holds (none for nil).
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err != nil {
		return []error{err}
	}
	return nil
}

// PrintSettings writes settings as a KEY/VALUE/TYPE table, or as the ConfigMap data in
// JSON or YAML.
func PrintSettings(w io.Writer, s Settings, format string) error {
	data := s.Data()
	var b []byte
	var err error
	switch format {
	case cli.OutputJSON:
		b, err = json.MarshalIndent(data, "", "  ")
		b = append(b, '\n')
	case cli.OutputYAML:
		b, err = yaml.Marshal(data)
	default:
		t := cli.NewTable(w)
		t.Row("KEY", "VALUE", "TYPE")
		for _, k := range SettingsKeys {
			t.Row(k.Key, data[k.Key], k.Want)
		}
		return t.Flush()
	}
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
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
		return cli.IgnoreHelp(err)
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
