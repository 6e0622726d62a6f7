package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
)

// defaultPathOptions is clientcmd's view of "the default kubeconfig"
// (KUBECONFIG or ~/.kube/config), except that a KUBECONFIG pointing at one
// of the workshop's own standalone files is ignored: those belong to a
// cluster and vanish with it.
//
// The home file is computed from $HOME now, not when clientcmd was
// initialised, so that tests (and callers) changing HOME are honoured.
func defaultPathOptions(cacheDir string) *clientcmd.PathOptions {
	po := clientcmd.NewDefaultPathOptions()
	po.GlobalFile = filepath.Join(homedir.HomeDir(), clientcmd.RecommendedHomeDir, clientcmd.RecommendedFileName)
	if backend.AnyUnder(po.GetEnvVarFiles(), cacheDir) {
		po.EnvVar = ""
	}
	po.LoadingRules.Precedence = po.GetLoadingPrecedence()
	return po
}

// useContext merges the cluster's standalone kubeconfig into the default
// kubeconfig and makes its context current, as `kind create cluster` does.
func (p *Provider) useContext() error {
	if !p.o.switchContext {
		return nil
	}
	src, err := clientcmd.LoadFromFile(p.KubeconfigPath())
	if err != nil {
		return fmt.Errorf("read kubeconfig of cluster %q: %w", p.o.name, err)
	}
	// LocationOfOrigin tells ModifyConfig which file an entry belongs to;
	// clear it so the entries land in the default file, not back in the
	// standalone one.
	err = modifyDefault(defaultPathOptions(p.o.cacheDir), func(dst *clientcmdapi.Config) bool {
		for name, c := range src.Clusters {
			c.LocationOfOrigin = ""
			dst.Clusters[name] = c
		}
		for name, a := range src.AuthInfos {
			a.LocationOfOrigin = ""
			dst.AuthInfos[name] = a
		}
		for name, c := range src.Contexts {
			c.LocationOfOrigin = ""
			dst.Contexts[name] = c
		}
		dst.CurrentContext = src.CurrentContext
		return true
	})
	if err != nil {
		return fmt.Errorf("switch default kubeconfig to context %q: %w", src.CurrentContext, err)
	}
	return nil
}

// contextNames lists the contexts of a standalone kubeconfig (before the
// cluster, and with it the file, is deleted).
func contextNames(path string) *clientcmdapi.Config {
	cfg, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil
	}
	return cfg
}

// forgetContexts removes a deleted cluster's entries from the default
// kubeconfig, leaving everything else as it was.
func forgetContexts(src *clientcmdapi.Config, cacheDir string) error {
	if src == nil {
		return nil
	}
	err := modifyDefault(defaultPathOptions(cacheDir), func(dst *clientcmdapi.Config) bool {
		changed := false
		for name := range src.Contexts {
			if _, ok := dst.Contexts[name]; ok {
				delete(dst.Contexts, name)
				changed = true
			}
			if dst.CurrentContext == name {
				dst.CurrentContext = ""
				changed = true
			}
		}
		for name := range src.Clusters {
			if _, ok := dst.Clusters[name]; ok {
				delete(dst.Clusters, name)
				changed = true
			}
		}
		for name := range src.AuthInfos {
			if _, ok := dst.AuthInfos[name]; ok {
				delete(dst.AuthInfos, name)
				changed = true
			}
		}
		return changed
	})
	if err != nil {
		return fmt.Errorf("remove deleted cluster from default kubeconfig: %w", err)
	}
	return nil
}

// lockWait bounds how long modifyDefault waits for another writer's lock.
var lockWait = 30 * time.Second

// modifyDefault reads the default kubeconfig, lets change edit it, and
// writes it back if change reports a change. kubectl, kind and clientcmd
// lock the file while they write by creating <file>.lock, and a writer
// that finds it fails at once; two clusters created at the same time
// (or a kind cluster beside a kwok one) met that lock. While the lock is
// held, the whole read, edit and write is tried again, so the other
// writer's entries are kept, for up to lockWait.
func modifyDefault(po *clientcmd.PathOptions, change func(*clientcmdapi.Config) bool) error {
	deadline := time.Now().Add(lockWait)
	for {
		dst, err := po.GetStartingConfig()
		if err != nil {
			return fmt.Errorf("read default kubeconfig: %w", err)
		}
		if !change(dst) {
			return nil
		}
		err = clientcmd.ModifyConfig(po, *dst, true)
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: another kubectl or kind has been writing it for %s, or one was killed while writing it; remove the .lock file if none runs", err, lockWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
