package proc

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// Run with -race: concurrent writers to one buffer must not race, and no
// write may be lost or torn.
func TestSyncWriterSerialisesWriters(t *testing.T) {
	var buf bytes.Buffer
	w := &SyncWriter{W: &buf}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte(strings.Repeat(string(rune('a'+i)), 10) + "\n"))
			}
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 800 {
		t.Fatalf("got %d lines, want 800", len(lines))
	}
	for _, l := range lines {
		if len(l) != 10 || strings.Count(l, l[:1]) != 10 {
			t.Fatalf("torn line %q", l)
		}
	}
}
