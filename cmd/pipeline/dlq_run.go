package main

import (
	"sync"
	"sync/atomic"

	"github.com/streamkit/pipeline/plugins/dlq"
)

// dlqRun is what one `dlq` command run learns from the processors of the
// stream it built: what they did and how far they read, so the command can
// stop once the DLQ topic is read to its end (a Kafka input never ends).
// The processors reach it through closures registered on the run's own
// environment, never through a global.
type dlqRun struct {
	replayed, skipped, refused atomic.Int64

	mu   sync.Mutex
	ends map[int64]int64 // partition -> end offset (next offset to be written)
	done chan struct{}
}

// newDLQRun returns a run that is done once every partition with data has
// been read up to its end offset.
func newDLQRun(ends map[int64]int64) *dlqRun {
	r := &dlqRun{ends: map[int64]int64{}, done: make(chan struct{})}
	for p, end := range ends {
		if end > 0 {
			r.ends[p] = end
		}
	}
	if len(r.ends) == 0 {
		close(r.done)
	}
	return r
}

// Done is closed when the run has read everything.
func (r *dlqRun) Done() <-chan struct{} { return r.done }

// replayed counts a dlq_replay decision and notes its position.
func (r *dlqRun) replayedRecord(partition, offset int64, o dlq.Outcome) {
	switch o {
	case dlq.Skip:
		r.skipped.Add(1)
	case dlq.Refused:
		r.refused.Add(1)
	default:
		r.replayed.Add(1)
	}
	r.observe(partition, offset)
}

// observe notes that the record at partition/offset was processed.
func (r *dlqRun) observe(partition, offset int64) {
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
