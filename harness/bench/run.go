package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kubeworkshop/kubeworkshop/harness/measure"
	"github.com/kubeworkshop/kubeworkshop/harness/proc"
)

// afterFirstSample, when set by a test, runs with the child's PID once its
// memory has been sampled for the first time, so a test's child can wait for
// that before it exits.
var afterFirstSample func(pid int)

// peakRSS reads a process's high-water mark; a test replaces it to see what
// RunMeasured says when it gets no reading.
var peakRSS = measure.PeakRSS

// Measurement is what one measured run of a command saw.
type Measurement struct {
	Wall    time.Duration
	PeakRSS int64 // bytes
	Lines   int   // lines the command printed on stdout
}

// RunMeasured runs argv, counting its output lines, and returns the wall
// time and the child's peak resident set size; its stderr goes to log.
//
// The peak comes from VmHWM in /proc/PID/status, sampled every few
// milliseconds while the child runs. The child's rusage is no good here: Go
// starts children with vfork semantics, and Linux carries the parent's
// high-water mark across exec into the child's ru_maxrss, so every child
// would seem at least as big as the process measuring it.
func RunMeasured(ctx context.Context, argv []string, log io.Writer) (Measurement, error) {
	cmd := proc.Command(ctx, argv[0], argv[1:]...)
	cmd.Stderr = log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return Measurement{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Measurement{}, err
	}
	// sample runs on the sampler goroutine and once more on this one.
	var mu sync.Mutex
	var peak int64
	sample := func() {
		hwm, _ := peakRSS(cmd.Process.Pid)
		mu.Lock()
		defer mu.Unlock()
		if hwm <= peak {
			return
		}
		if peak == 0 && afterFirstSample != nil {
			afterFirstSample(cmd.Process.Pid)
		}
		peak = hwm
	}
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			sample()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	lines := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		lines++
	}
	_, _ = io.Copy(io.Discard, out)
	sample() // the child has closed its stdout: a last sample before reaping it
	err = cmd.Wait()
	wall := time.Since(start)
	close(stop)
	<-sampled
	if err != nil {
		if ctx.Err() != nil {
			return Measurement{}, ctx.Err()
		}
		return Measurement{}, err
	}
	if peak == 0 {
		return Measurement{}, fmt.Errorf("%s exited %v after it started, before its memory could be sampled from /proc: measure a command that runs longer", argv[0], wall.Round(time.Millisecond))
	}
	return Measurement{Wall: wall, PeakRSS: peak, Lines: lines}, nil
}
