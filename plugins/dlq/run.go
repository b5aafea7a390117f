package dlq

import (
	"sync"
	"sync/atomic"
)

// Run connects a CLI invocation with the processors of the stream it built:
// the processors report what they did and how far they read, so the CLI can
// stop once the DLQ topic is read to its end (a Kafka input never ends).
type Run struct {
	Inspector *Inspector

	Replayed, Skipped, Refused atomic.Int64

	mu   sync.Mutex
	ends map[int64]int64 // partition -> end offset (next offset to be written)
	done chan struct{}
}

var runs sync.Map // run_id -> *Run

// NewRun registers a run that is done once every partition with data has
// been read up to its end offset.
func NewRun(id string, ends map[int64]int64) *Run {
	r := &Run{ends: map[int64]int64{}, done: make(chan struct{})}
	for p, end := range ends {
		if end > 0 {
			r.ends[p] = end
		}
	}
	if len(r.ends) == 0 {
		close(r.done)
	}
	runs.Store(id, r)
	return r
}

// Done is closed when the run has read everything.
func (r *Run) Done() <-chan struct{} { return r.done }

// Close unregisters the run.
func (r *Run) Close(id string) { runs.Delete(id) }

func lookupRun(id string) *Run {
	if id == "" {
		return nil
	}
	if r, ok := runs.Load(id); ok {
		return r.(*Run)
	}
	return nil
}

// observe notes that the record at partition/offset was processed.
func (r *Run) observe(partition, offset int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	end, ok := r.ends[partition]
	if !ok || offset+1 < end {
		return
	}
	delete(r.ends, partition)
	if len(r.ends) == 0 {
		close(r.done)
	}
}
