package proc

import (
	"io"
	"sync"
)

// SyncWriter serialises writes to W, for output that several children, or
// a child and a goroutine reporting on it, write at the same time. It has
// no ReadFrom on purpose: exec copies a child's pipe with it, and
// bytes.Buffer's would hold the buffer for as long as the pipe stays open,
// dropping what others wrote meanwhile.
type SyncWriter struct {
	mu sync.Mutex
	W  io.Writer
}

// Write writes p to W while no other Write runs.
func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.W.Write(p)
}
