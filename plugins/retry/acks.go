package retry

import (
	"context"
	"sync"
	"time"
)

// ackTracker turns out-of-order acknowledgements into a commit point per
// partition: the offset after the longest acknowledged prefix of delivered
// records. Records are delivered in offset order per partition, so that
// prefix is exactly what may be committed without losing an unacked record.
type ackTracker struct {
	// mark records a new commit point (next offset to consume). It is
	// called with the tracker's lock held so commit points of a partition
	// are marked in increasing order even when acks race.
	mark func(tp TP, nextOffset int64, leaderEpoch int32)

	mu    sync.Mutex
	owned map[TP]bool
	parts map[TP]*partAcks
	idle  chan struct{} // signalled whenever an ack completes
}

type partAcks struct {
	inflight []*inflightRec
}

type inflightRec struct {
	offset int64
	epoch  int32
	done   bool
}

func newAckTracker(mark func(TP, int64, int32)) *ackTracker {
	return &ackTracker{mark: mark, owned: map[TP]bool{}, parts: map[TP]*partAcks{}, idle: make(chan struct{}, 1)}
}

// assign records partitions we own; only those are ever marked.
func (t *ackTracker) assign(tps []TP) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range tps {
		t.owned[tp] = true
	}
}

// deliver registers a record handed downstream and returns its ack
// function. Acks of a partition dropped (revoked) since are ignored: the
// partition may belong to another member now and our commit would be stale.
// A record of a partition not owned any more gets a no-op ack; it is
// processed but the next owner will see it again (at-least-once).
func (t *ackTracker) deliver(tp TP, offset int64, epoch int32) func() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.owned[tp] {
		return func() {}
	}
	p := t.parts[tp]
	if p == nil {
		p = &partAcks{}
		t.parts[tp] = p
	}
	rec := &inflightRec{offset: offset, epoch: epoch}
	p.inflight = append(p.inflight, rec)
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.parts[tp] != p || rec.done {
			return
		}
		rec.done = true
		var last *inflightRec
		for len(p.inflight) > 0 && p.inflight[0].done {
			last = p.inflight[0]
			p.inflight[0] = nil
			p.inflight = p.inflight[1:]
		}
		if last != nil {
			t.mark(tp, last.offset+1, last.epoch)
		}
		signal(t.idle)
	}
}

// drop forgets partitions on revoke or loss.
func (t *ackTracker) drop(tps []TP) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tp := range tps {
		delete(t.parts, tp)
		delete(t.owned, tp)
	}
}

// waitIdle waits until no delivered record is unacknowledged, ctx is done
// or max has passed, so a clean shutdown commits everything acked in time.
func (t *ackTracker) waitIdle(ctx context.Context, max time.Duration) {
	deadline := time.NewTimer(max)
	defer deadline.Stop()
	for t.pending() > 0 {
		select {
		case <-t.idle:
		case <-deadline.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// pending counts delivered but unacknowledged records (for tests/metrics).
func (t *ackTracker) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.parts {
		n += len(p.inflight)
	}
	return n
}
