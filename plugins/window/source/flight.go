package source

import (
	"context"
	"sync"
)

// flightLimit bounds the records delivered to the pipeline and not yet
// acknowledged by it. Benthos reads an input again as soon as a batch is
// handed on, whatever became of the earlier ones, so without a bound a
// pipeline whose output is slower than the topic reads the whole backlog
// into memory (a pass-through of this input peaked at 0.9-1 GB on the
// 123 MB benchmark topic). With the window buffer a batch is acknowledged
// as soon as the buffer holds its events, and the bound never waits long.
type flightLimit struct {
	mu    sync.Mutex
	n     int
	max   int
	freed chan struct{} // closed (and replaced) when records are released
}

func newFlightLimit(max int) *flightLimit {
	return &flightLimit{max: max, freed: make(chan struct{})}
}

// acquire waits until k more records fit, or ctx ends. A batch larger than
// the bound alone goes through once nothing else is in flight, so no batch
// waits forever.
func (f *flightLimit) acquire(ctx context.Context, k int) error {
	for {
		f.mu.Lock()
		if f.n == 0 || f.n+k <= f.max {
			f.n += k
			f.mu.Unlock()
			return nil
		}
		ch := f.freed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release returns k records acquired before.
func (f *flightLimit) release(k int) {
	f.mu.Lock()
	f.n -= k
	close(f.freed)
	f.freed = make(chan struct{})
	f.mu.Unlock()
}

// inFlight is the number of records acquired and not released.
func (f *flightLimit) inFlight() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
