package source

import (
	"sync"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// tracker follows one assigned partition's delivered batches until the
// pipeline acknowledges them, and finds the offset that is safe to commit:
// the first offset of the oldest unacknowledged batch not covered by a
// snapshot. The window buffer acknowledges a batch only once every window
// its events fed was written (and every window that closed before them),
// so everything before that offset is reflected in the results topic or in
// the snapshot the commit names.
type tracker struct {
	part *partition.Partition

	mu        sync.Mutex
	fifo      []*delivery // in delivery order
	next      int64       // offset after the last delivered record; -1: none yet
	committed int64       // last committed offset; -1: none by us
	meta      string      // metadata of the last commit
}

type delivery struct {
	batch *partition.Batch
	acked bool // acknowledged without error
}

func newTracker(p *partition.Partition) *tracker {
	return &tracker{part: p, next: -1, committed: -1}
}

// deliver registers a batch of records [first, last] with the partition
// and the commit FIFO; nil if the partition was revoked meanwhile.
func (t *tracker) deliver(first, last int64) *partition.Batch {
	d := &delivery{}
	b := t.part.NewBatch(first, last, func(err error) { t.ack(d, err) })
	if b == nil {
		return nil
	}
	d.batch = b
	t.mu.Lock()
	t.fifo = append(t.fifo, d)
	t.next = b.Last + 1
	t.mu.Unlock()
	return b
}

// ack records the outcome of d. A failed one (the buffer shut down or
// dropped the partition before the batch's windows were written) keeps the
// commit point at or before it, so the batch is consumed again by whoever
// owns the partition next.
func (t *tracker) ack(d *delivery, err error) {
	t.mu.Lock()
	d.acked = err == nil
	t.mu.Unlock()
}

// pipelineAck is the pipeline's acknowledgement of b: the outcome unless the
// buffer took the batch (then the buffer reports it through b.Done).
func pipelineAck(b *partition.Batch, err error) {
	if b.Taken() {
		return
	}
	b.Received()
	b.Done(err)
}

// commitPoint pops the acknowledged prefix and returns the offset to commit
// with its metadata, and whether it differs from the last commit.
func (t *tracker) commitPoint() (offset int64, meta string, changed bool) {
	covered := int64(-1)
	sink := t.part.Sink()
	if sink != nil {
		covered = sink.Covered()
	}
	t.mu.Lock()
	i := 0
	// A batch below the snapshot-covered offset is safe although windows
	// it fed are still open: the snapshot the commit names holds them.
	for i < len(t.fifo) && (t.fifo[i].acked || t.fifo[i].batch.Last < covered) {
		i++
	}
	t.fifo = append(t.fifo[:0], t.fifo[i:]...)
	switch {
	case len(t.fifo) > 0:
		offset = t.fifo[0].batch.First
	case t.next >= 0:
		offset = t.next
	case sink != nil && t.part.Start >= 0:
		// Nothing delivered, but the buffer holds the partition's state
		// (announced on assignment): its windows may have closed since
		// (idleness), which the resume point must say.
		offset = t.part.Start
	default:
		t.mu.Unlock()
		return -1, "", false // nothing delivered: the committed offset stands
	}
	t.mu.Unlock()

	r := t.part.Resume
	if sink != nil {
		r = sink.Checkpoint(offset)
	}
	meta = r.Encode()
	t.mu.Lock()
	defer t.mu.Unlock()
	return offset, meta, offset != t.committed || meta != t.meta
}

// committedAt records a successful commit.
func (t *tracker) committedAt(offset int64, meta string) {
	t.mu.Lock()
	t.committed, t.meta = offset, meta
	t.mu.Unlock()
	if s := t.part.Sink(); s != nil {
		s.Committed()
	}
}
