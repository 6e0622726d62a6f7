package ports

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Defaults of a Registry.
const (
	// DefaultTTL is how long a reservation lasts: long enough for a
	// cluster's processes to bind their ports, after which the ports are
	// taken for real.
	DefaultTTL = 10 * time.Minute
	// Low and High bound the ports handed out: below the kernel's
	// ephemeral range (32768 and up) and away from kwokctl's own choices
	// just under 32768.
	Low, High = 20000, 30000
)

// ErrExhausted means no free port was found in the range.
var ErrExhausted = errors.New("no free port left")

// Registry is a directory holding the reservations of every process on the
// machine, guarded by an advisory lock.
type Registry struct {
	dir string
	ttl time.Duration
	now func() time.Time
	// free reports whether a port can be bound right now.
	free func(port int) bool
}

// Option configures a Registry.
type Option func(*Registry)

// WithDir sets the registry directory (default: kubeworkshop-ports in the
// system's temporary directory, shared by every user).
func WithDir(dir string) Option { return func(r *Registry) { r.dir = dir } }

// WithTTL sets how long a reservation lasts (default DefaultTTL).
func WithTTL(d time.Duration) Option { return func(r *Registry) { r.ttl = d } }

// WithClock replaces time.Now (for tests).
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithFree replaces the check that a port can be bound (for tests).
func WithFree(free func(port int) bool) Option { return func(r *Registry) { r.free = free } }

// New returns the machine's registry.
func New(opts ...Option) *Registry {
	r := &Registry{dir: filepath.Join(os.TempDir(), "kubeworkshop-ports"), ttl: DefaultTTL, now: time.Now, free: Free}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Reserve returns n distinct ports that can be bound now and that no other
// reservation holds, and records them for the registry's TTL.
func (r *Registry) Reserve(n int) ([]int, error) {
	unlock, err := r.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := r.now()
	held, err := r.load(now)
	if err != nil {
		return nil, err
	}
	var got []int
	start := Low + rand.IntN(High-Low)
	for i := 0; i < High-Low && len(got) < n; i++ {
		p := Low + (start-Low+i)%(High-Low)
		if _, taken := held[p]; taken || !r.free(p) {
			continue
		}
		got = append(got, p)
		held[p] = now.Add(r.ttl)
	}
	if len(got) < n {
		return nil, fmt.Errorf("%w in %d–%d (%d reserved in %s)", ErrExhausted, Low, High-1, len(held), r.dir)
	}
	if err := r.save(held); err != nil {
		return nil, err
	}
	return got, nil
}

func (r *Registry) file() string { return filepath.Join(r.dir, "reserved") }

// lock takes the registry's exclusive lock. The directory is world-writable
// with the sticky bit, like /tmp, so every user's clusters share it.
func (r *Registry) lock() (func(), error) {
	if err := os.MkdirAll(r.dir, 0o777); err != nil {
		return nil, fmt.Errorf("port registry: %w", err)
	}
	_ = os.Chmod(r.dir, 0o777|os.ModeSticky)
	f, err := os.OpenFile(filepath.Join(r.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("port registry: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("port registry: lock: %w", err)
	}
	return func() { f.Close() }, nil
}

// load reads the reservations that have not expired at now.
func (r *Registry) load(now time.Time) (map[int]time.Time, error) {
	held := map[int]time.Time{}
	f, err := os.Open(r.file())
	if errors.Is(err, os.ErrNotExist) {
		return held, nil
	}
	if err != nil {
		return nil, fmt.Errorf("port registry: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		port, until, ok := strings.Cut(sc.Text(), " ")
		p, perr := strconv.Atoi(port)
		u, uerr := strconv.ParseInt(until, 10, 64)
		if !ok || perr != nil || uerr != nil {
			continue // a damaged line reserves nothing
		}
		if t := time.Unix(u, 0); t.After(now) {
			held[p] = t
		}
	}
	return held, sc.Err()
}

func (r *Registry) save(held map[int]time.Time) error {
	var b strings.Builder
	for p, t := range held {
		fmt.Fprintf(&b, "%d %d\n", p, t.Unix())
	}
	tmp := r.file() + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o666); err != nil {
		return fmt.Errorf("port registry: %w", err)
	}
	_ = os.Chmod(tmp, 0o666)
	if err := os.Rename(tmp, r.file()); err != nil {
		return fmt.Errorf("port registry: %w", err)
	}
	return nil
}

// Free reports whether port can be bound on loopback and on every address.
func Free(port int) bool {
	for _, host := range []string{"127.0.0.1", ""} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}
