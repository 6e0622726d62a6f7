package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	workshopv1alpha1 "github.com/kubeworkshop/kubeworkshop/demos/04-operator/api/v1alpha1"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/internal/controller"
	"github.com/kubeworkshop/kubeworkshop/demos/04-operator/tools/ops"
)

// ChaosOptions configures Chaos. Zero values take the defaults in
// parentheses.
type ChaosOptions struct {
	Kubeconfig string    // the (kwok) cluster; required
	WorkDir    string    // operator binary and log; required
	Out        io.Writer // progress and results (os.Stdout)
	PodSets    int       // PodSets (200)
	Kills      int       // at least this many SIGKILLs in all (10)
	Seed       uint64    // seeds replica counts and kill moments (the time)
	Timeout    time.Duration
}

func (o *ChaosOptions) defaults() {
	o.Out = cmp.Or[io.Writer](o.Out, os.Stdout)
	o.PodSets = cmp.Or(o.PodSets, 200)
	o.Kills = cmp.Or(o.Kills, 10)
	o.Seed = cmp.Or(o.Seed, uint64(time.Now().UnixNano()))
	o.Timeout = cmp.Or(o.Timeout, 10*time.Minute)
}

// ChaosPhase is what happened in one phase of a chaos run.
type ChaosPhase struct {
	Name     string
	Kills    int
	Duration time.Duration // until the invariants held
	Created  int           // owned pods the watch saw created
	Deleted  int           // pods the watch saw deleted
}

// ChaosResult holds the figures and the broken invariants of a chaos run.
type ChaosResult struct {
	Seed   uint64
	Phases []ChaosPhase
	// Violations are broken invariants; an empty list is a pass.
	Violations []string
}

// Kills is the number of SIGKILLs over all phases.
func (r ChaosResult) Kills() int {
	n := 0
	for _, p := range r.Phases {
		n += p.Kills
	}
	return n
}

// Print writes the phases as a table, then the broken invariants.
func (r ChaosResult) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "phase\tSIGKILLs\tuntil converged\tpods created\tpods deleted")
	for _, p := range r.Phases {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%d\n", p.Name, p.Kills, p.Duration.Round(time.Second), p.Created, p.Deleted)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d SIGKILLs (seed %d); invariants broken: %d\n", r.Kills(), r.Seed, len(r.Violations))
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  - %s\n", v)
	}
	return nil
}

// Chaos runs the operator while SIGKILLing and restarting it at random
// moments: PodSets are created and converge, are scaled to random sizes,
// and are deleted. An independent watch on Pods (its own informer, not the
// operator's metrics) checks the invariants: after each convergence no
// PodSet has more Pods than replicas, look-alike Pods the operator does not
// own are never deleted or adopted, no owned Pod is deleted while PodSets
// only grow, every PodSet converges and every deletion finishes.
func Chaos(ctx context.Context, o ChaosOptions) (ChaosResult, error) {
	o.defaults()
	res := ChaosResult{Seed: o.Seed}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed>>1|1))
	cfg, err := clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	if err != nil {
		return res, fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400
	c, err := client.New(cfg, client.Options{Scheme: ops.Scheme()})
	if err != nil {
		return res, fmt.Errorf("create client: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return res, fmt.Errorf("create clientset: %w", err)
	}
	if err := ops.Install(ctx, cfg, io.Discard); err != nil {
		return res, err
	}
	ns, err := createNamespace(ctx, c, "chaos")
	if err != nil {
		return res, err
	}
	fmt.Fprintf(o.Out, "chaos: %d PodSets in namespace %s, at least %d SIGKILLs, seed %d\n", o.PodSets, ns, o.Kills, o.Seed)

	w, err := watchPods(ctx, cs, ns)
	if err != nil {
		return res, err
	}
	bin, err := ops.BuildOperator(ctx, o.WorkDir)
	if err != nil {
		return res, err
	}
	k, err := startKiller(bin, o, rng)
	if err != nil {
		return res, err
	}
	defer k.stop()

	replicas := map[string]int32{}
	names := make([]string, o.PodSets)
	for i := range names {
		names[i] = fmt.Sprintf("ps-%03d", i)
		replicas[names[i]] = 3
	}
	phase := func(name string, kills int, act func() error, done func(ctx context.Context) (bool, string, error)) error {
		fmt.Fprintf(o.Out, "%s (killing the operator %d times at random moments)\n", name, kills)
		start, created0, deleted0 := time.Now(), w.created(), w.deleted()
		killed := k.kill(ctx, kills)
		if err := act(); err != nil {
			return err
		}
		last := time.Time{}
		err := wait.PollUntilContextTimeout(ctx, time.Second, o.Timeout, true, func(ctx context.Context) (bool, error) {
			ok, status, err := done(ctx)
			if err != nil || ok {
				return ok && killed.Load() >= int64(kills), err
			}
			if time.Since(last) >= progressEvery {
				fmt.Fprintf(o.Out, "  %s: %s; %d/%d kills\n", time.Since(start).Round(time.Second), status, killed.Load(), kills)
				last = time.Now()
			}
			return false, nil
		})
		p := ChaosPhase{Name: name, Kills: int(killed.Load()), Duration: time.Since(start),
			Created: w.created() - created0, Deleted: w.deleted() - deleted0}
		res.Phases = append(res.Phases, p)
		if err != nil {
			return fmt.Errorf("%s: the invariants did not hold within %s: %w", name, o.Timeout, err)
		}
		fmt.Fprintf(o.Out, "  converged after %s and %d kills\n", p.Duration.Round(time.Second), p.Kills)
		return nil
	}
	converged := func(ctx context.Context) (bool, string, error) {
		return w.converged(ctx, c, ns, replicas)
	}

	decoys, err := createDecoys(ctx, c, ns, names)
	if err != nil {
		return res, err
	}
	err = phase("1. create and converge", (o.Kills+1)/2, func() error {
		return parallel(ctx, len(names), 16, func(ctx context.Context, i int) error {
			return c.Create(ctx, benchPodSet(ns, names[i], replicas[names[i]]))
		})
	}, converged)
	if err != nil {
		return res, err
	}
	if n := w.deleted(); n > 0 {
		res.Violations = append(res.Violations, fmt.Sprintf("%d pods were deleted while PodSets only grew: %v", n, w.deletedNames(5)))
	}
	res.Violations = append(res.Violations, w.overshoot(replicas, 3*time.Second)...)

	err = phase("2. scale to random sizes", o.Kills/2, func() error {
		for _, n := range names {
			replicas[n] = int32(rng.IntN(7))
		}
		return parallel(ctx, len(names), 16, func(ctx context.Context, i int) error {
			patch := []byte(`{"spec":{"replicas":` + strconv.Itoa(int(replicas[names[i]])) + `}}`)
			ps := &workshopv1alpha1.PodSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names[i]}}
			return c.Patch(ctx, ps, client.RawPatch(types.MergePatchType, patch))
		})
	}, converged)
	if err != nil {
		return res, err
	}
	res.Violations = append(res.Violations, w.overshoot(replicas, 3*time.Second)...)

	err = phase("3. delete and drain", 2, func() error {
		return parallel(ctx, len(names), 16, func(ctx context.Context, i int) error {
			ps := &workshopv1alpha1.PodSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: names[i]}}
			return client.IgnoreNotFound(c.Delete(ctx, ps))
		})
	}, func(ctx context.Context) (bool, string, error) { return drained(ctx, c, ns, w) })
	if err != nil {
		return res, err
	}
	res.Violations = append(res.Violations, w.decoysIntact(decoys)...)
	if err := c.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreNotFound(err) != nil {
		return res, fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	return res, nil
}

// createDecoys creates, for every tenth PodSet, a Pod that carries all of
// the PodSet's labels but no ownerReference: the operator must leave it be.
func createDecoys(ctx context.Context, c client.Client, ns string, names []string) ([]string, error) {
	var decoys []string
	for i := 0; i < len(names); i += 10 {
		ps := benchPodSet(ns, names[i], 0)
		pod := benchPod(ns, "decoy-"+names[i])
		pod.Labels = ps.PodLabels()
		if err := c.Create(ctx, pod); err != nil {
			return nil, fmt.Errorf("create decoy pod: %w", err)
		}
		decoys = append(decoys, pod.Name)
	}
	return decoys, nil
}

// drained reports whether every PodSet, its record and its pods are gone
// (the decoys stay).
func drained(ctx context.Context, c client.Client, ns string, w *podWatch) (bool, string, error) {
	var sets workshopv1alpha1.PodSetList
	if err := c.List(ctx, &sets, client.InNamespace(ns)); err != nil {
		return false, "", nil // a slow list under load is not fatal
	}
	var records corev1.ConfigMapList
	if err := c.List(ctx, &records, client.InNamespace(controller.DefaultRecordNamespace),
		client.MatchingLabels{workshopv1alpha1.RecordNamespaceLabel: ns}); err != nil {
		return false, "", nil
	}
	owned := w.ownedCount()
	return len(sets.Items)+len(records.Items)+owned == 0,
		fmt.Sprintf("%d PodSets, %d records, %d owned pods left", len(sets.Items), len(records.Items), owned), nil
}

// killer runs the operator and SIGKILLs it on request, restarting it at
// once each time.
type killer struct {
	bin  string
	o    ChaosOptions
	rng  *rand.Rand
	log  *os.File
	mu   sync.Mutex
	proc *ops.Process
	wg   sync.WaitGroup
}

func startKiller(bin string, o ChaosOptions, rng *rand.Rand) (*killer, error) {
	log, err := os.Create(filepath.Join(o.WorkDir, "operator-chaos.log"))
	if err != nil {
		return nil, fmt.Errorf("create operator log: %w", err)
	}
	k := &killer{bin: bin, o: o, rng: rng, log: log}
	if err := k.start(); err != nil {
		log.Close()
		return nil, err
	}
	return k, nil
}

func (k *killer) start() error {
	p, err := ops.StartOperator(k.bin, k.o.Kubeconfig, k.log, "--kube-api-qps=200", "--kube-api-burst=400",
		"--max-concurrent-reconciles=8", "--zap-log-level=info")
	if err != nil {
		return err
	}
	k.proc = p
	return nil
}

// kill SIGKILLs and restarts the operator n times in the background, at
// random moments 0.5 to 4 s apart; the counter says how many happened.
func (k *killer) kill(ctx context.Context, n int) *atomic.Int64 {
	var count atomic.Int64
	delays := make([]time.Duration, n) // drawn here: the caller's goroutine owns rng
	for i := range delays {
		delays[i] = 500*time.Millisecond + time.Duration(k.rng.Int64N(int64(3500*time.Millisecond)))
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		for _, delay := range delays {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			k.mu.Lock()
			k.proc.Kill()
			fmt.Fprintf(k.log, "=== chaos: SIGKILL pid %d at %s; restarting\n", k.proc.Pid(), time.Now().Format(time.RFC3339Nano))
			err := k.start()
			k.mu.Unlock()
			if err != nil {
				fmt.Fprintf(k.o.Out, "  restarting the operator failed: %v\n", err)
				return
			}
			count.Add(1)
		}
	}()
	return &count
}

// stop waits for pending kills and stops the operator cleanly.
func (k *killer) stop() {
	k.wg.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.proc.Stop(time.Minute); err != nil {
		fmt.Fprintf(k.o.Out, "stopping the operator: %v\n", err)
	}
	k.log.Close()
}

// podWatch is an independent view of the namespace's Pods: its own
// informer, fed by the API server's watch.
type podWatch struct {
	ns    string
	store cache.Store
	mu    sync.Mutex
	adds  int
	dels  []string          // names of deleted pods
	gone  map[string]bool   // decoys seen deleted or terminating
	owner map[string]string // pod name -> owning PodSet name at deletion
}

func watchPods(ctx context.Context, cs kubernetes.Interface, ns string) (*podWatch, error) {
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	w := &podWatch{ns: ns, store: inf.GetStore(), gone: map[string]bool{}, owner: map[string]string{}}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok && metav1.GetControllerOf(p) != nil {
				w.mu.Lock()
				w.adds++
				w.mu.Unlock()
			}
		},
		UpdateFunc: func(_, obj any) {
			if p, ok := obj.(*corev1.Pod); ok && p.DeletionTimestamp != nil && len(p.OwnerReferences) == 0 {
				w.mu.Lock()
				w.gone[p.Name] = true
				w.mu.Unlock()
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			p, ok := obj.(*corev1.Pod)
			if !ok {
				return
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			w.dels = append(w.dels, p.Name)
			if ref := metav1.GetControllerOf(p); ref != nil {
				w.owner[p.Name] = ref.Name
			} else {
				w.gone[p.Name] = true
			}
		},
	})
	if err != nil {
		return nil, err
	}
	f.Start(ctx.Done())
	for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("watch %v in %s: cache did not sync", typ, ns)
		}
	}
	return w, nil
}

func (w *podWatch) created() int { w.mu.Lock(); defer w.mu.Unlock(); return w.adds }
func (w *podWatch) deleted() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.dels) }

// deletedNames returns up to n names of deleted pods with their owners.
func (w *podWatch) deletedNames(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, name := range w.dels[:min(n, len(w.dels))] {
		out = append(out, name+" (owner "+w.owner[name]+")")
	}
	return out
}

// active counts the non-terminating pods per owning PodSet.
func (w *podWatch) active() map[string]int32 {
	counts := map[string]int32{}
	for _, obj := range w.store.List() {
		p := obj.(*corev1.Pod)
		if ref := metav1.GetControllerOf(p); ref != nil && ref.Kind == "PodSet" && p.DeletionTimestamp == nil {
			counts[ref.Name]++
		}
	}
	return counts
}

// ownedCount is the number of pods with an owner, terminating or not.
func (w *podWatch) ownedCount() int {
	n := 0
	for _, obj := range w.store.List() {
		if len(obj.(*corev1.Pod).OwnerReferences) > 0 {
			n++
		}
	}
	return n
}

// converged reports whether every PodSet has exactly its replicas in active
// pods (seen by the watch) and reports Available for its generation.
func (w *podWatch) converged(ctx context.Context, c client.Client, ns string, replicas map[string]int32) (bool, string, error) {
	counts := w.active()
	off := 0
	for name, want := range replicas {
		if counts[name] != want {
			off++
		}
	}
	if off > 0 {
		return false, fmt.Sprintf("%d PodSets without their number of pods", off), nil
	}
	var sets workshopv1alpha1.PodSetList
	if err := c.List(ctx, &sets, client.InNamespace(ns)); err != nil {
		return false, "", nil
	}
	notAvailable := 0
	for _, ps := range sets.Items {
		cond := meta.FindStatusCondition(ps.Status.Conditions, workshopv1alpha1.ConditionAvailable)
		if cond == nil || cond.Status != metav1.ConditionTrue || ps.Status.ObservedGeneration != ps.Generation ||
			ps.Status.Replicas != ptr.Deref(ps.Spec.Replicas, 1) {
			notAvailable++
		}
	}
	return notAvailable == 0, fmt.Sprintf("%d PodSets not Available for their generation", notAvailable), nil
}

// overshoot watches for the given time and reports every PodSet that has
// more active pods than replicas.
func (w *podWatch) overshoot(replicas map[string]int32, d time.Duration) []string {
	seen := map[string]int32{}
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		for name, n := range w.active() {
			if n > replicas[name] && n > seen[name] {
				seen[name] = n
			}
		}
	}
	var out []string
	for name, n := range seen {
		out = append(out, fmt.Sprintf("PodSet %s has %d pods after convergence, more than its %d replicas", name, n, replicas[name]))
	}
	sort.Strings(out)
	return out
}

// decoysIntact reports decoys that were deleted, are terminating or were
// adopted.
func (w *podWatch) decoysIntact(decoys []string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, d := range decoys {
		obj, exists, _ := w.store.GetByKey(w.ns + "/" + d)
		switch {
		case w.gone[d] || !exists:
			out = append(out, fmt.Sprintf("look-alike pod %s, which no PodSet owns, was deleted", d))
		case len(obj.(*corev1.Pod).OwnerReferences) > 0:
			out = append(out, fmt.Sprintf("look-alike pod %s was adopted", d))
		}
	}
	return out
}
