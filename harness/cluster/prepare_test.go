package cluster

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/cluster/internal/backend"
)

// deadlineBackend records whether Prepare and Create ran under a deadline,
// and fails Create so that Up stops there. Methods Up does not call are
// left to the nil embedded interface.
type deadlineBackend struct {
	backend.Backend
	prepared, prepareDeadline, createDeadline, deleted bool
}

var errStopHere = errors.New("stop here")

func (b *deadlineBackend) Exists(context.Context) (bool, error) { return false, nil }
func (b *deadlineBackend) CreateAllowance() time.Duration       { return 0 }
func (b *deadlineBackend) Prepare(ctx context.Context) error {
	b.prepared = true
	_, b.prepareDeadline = ctx.Deadline()
	return nil
}
func (b *deadlineBackend) Create(ctx context.Context, _ backend.CreateOptions) error {
	_, b.createDeadline = ctx.Deadline()
	return errStopHere
}
func (b *deadlineBackend) ExportLogs(context.Context, string) error { return nil }
func (b *deadlineBackend) Delete(context.Context) error {
	b.deleted = true
	return nil
}

func TestUpPreparesBeforeCreationsDeadline(t *testing.T) {
	// A first run builds the binaries in Prepare, which takes minutes on a
	// cold machine: it must not count against the readiness deadline.
	b := &deadlineBackend{}
	p := &Provider{o: options{provider: Kwok, name: "prep", log: io.Discard, waitTimeout: time.Minute, cacheDir: t.TempDir()}, b: b}
	_, err := p.Up(t.Context())
	if !errors.Is(err, errStopHere) {
		t.Fatalf("Up = %v, want the backend's Create error", err)
	}
	if !b.prepared || b.prepareDeadline {
		t.Errorf("Prepare called: %v, under creation's deadline: %v; want it called first, without one", b.prepared, b.prepareDeadline)
	}
	if !b.createDeadline {
		t.Error("Create ran without a deadline")
	}
	if !b.deleted {
		t.Error("the half-created cluster was not deleted")
	}
}
