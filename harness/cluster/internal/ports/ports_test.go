package ports_test

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/ports"
)

func TestConcurrentReservationsAreDisjoint(t *testing.T) {
	dir := t.TempDir()
	const callers, each = 8, 6
	var (
		mu   sync.Mutex
		seen = map[int]int{}
		wg   sync.WaitGroup
	)
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A registry per caller, as separate processes would have.
			got, err := ports.New(ports.WithDir(dir)).Reserve(each)
			if err != nil {
				t.Errorf("caller %d: %v", c, err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, p := range got {
				if other, dup := seen[p]; dup {
					t.Errorf("port %d given to callers %d and %d", p, other, c)
				}
				seen[p] = c
				if p < ports.Low || p >= ports.High {
					t.Errorf("port %d outside %d–%d", p, ports.Low, ports.High)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != callers*each {
		t.Fatalf("got %d distinct ports, want %d", len(seen), callers*each)
	}
}

func TestReservationsExpireAndBusyPortsAreSkipped(t *testing.T) {
	dir := t.TempDir()
	now := time.Unix(1_000_000, 0)
	clock := func() time.Time { return now }
	busy := map[int]bool{}
	free := func(p int) bool { return !busy[p] }
	r := ports.New(ports.WithDir(dir), ports.WithClock(clock), ports.WithFree(free), ports.WithTTL(time.Minute))

	// Everything but one port is busy: the first reservation takes it,
	// the second finds none until the first expires.
	var only int
	for p := ports.Low; p < ports.High; p++ {
		busy[p] = true
	}
	only = ports.Low + 42
	busy[only] = false
	got, err := r.Reserve(1)
	if err != nil || len(got) != 1 || got[0] != only {
		t.Fatalf("Reserve = %v, %v; want [%d]", got, err, only)
	}
	if _, err := r.Reserve(1); !errors.Is(err, ports.ErrExhausted) {
		t.Fatalf("second Reserve error = %v, want ErrExhausted", err)
	}
	now = now.Add(2 * time.Minute)
	if got, err := r.Reserve(1); err != nil || got[0] != only {
		t.Fatalf("after expiry Reserve = %v, %v; want [%d]", got, err, only)
	}
}

func TestFree(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if port := l.Addr().(*net.TCPAddr).Port; ports.Free(port) {
		t.Errorf("Free(%d) = true for a port with a listener", port)
	}
}
