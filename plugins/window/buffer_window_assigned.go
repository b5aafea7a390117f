package window

import (
	"context"
	"sync"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// A window_kafka partition gets its state when the input announces it
// (assigned, snapshot loaded: partition.Assignments), not only on its first
// batch. A partition that delivers nothing after its committed offset still
// has windows to close if that offset names a snapshot of open windows:
// with its state in place, they close idle_timeout after the assignment, as
// an uninterrupted run would have closed them, and retried events of it
// join it instead of waiting for a batch that may never come.

// assigned queues announced partitions for attachLoop: the announcement
// comes from the consumer's rebalance callback, which must not wait for
// writeMu (a write may be waiting for queue space).
type assigned struct {
	mu      sync.Mutex
	queue   []*partition.Partition
	stopped bool          // the buffer closed: nothing is attached any more
	signal  chan struct{} // one pending wake-up
}

func (a *assigned) announce(p *partition.Partition) {
	a.mu.Lock()
	if a.stopped {
		a.mu.Unlock()
		return
	}
	a.queue = append(a.queue, p)
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

func (a *assigned) take() []*partition.Partition {
	a.mu.Lock()
	defer a.mu.Unlock()
	q := a.queue
	a.queue = nil
	return q
}

// watchAssignments attaches the partitions the input announces, from now
// on and those it announced before the buffer was built.
func (b *windowBuffer) watchAssignments(as *partition.Assignments) {
	b.assigned = &assigned{signal: make(chan struct{}, 1)}
	b.attachDone = make(chan struct{})
	go b.attachLoop()
	as.Watch(b.assigned.announce)
}

func (b *windowBuffer) attachLoop() {
	defer close(b.attachDone)
	defer func() {
		b.assigned.mu.Lock()
		b.assigned.stopped, b.assigned.queue = true, nil
		b.assigned.mu.Unlock()
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-b.assigned.signal:
			for _, p := range b.assigned.take() {
				b.attachAnnounced(ctx, p)
			}
		case <-b.stop:
			return
		}
	}
}

// attachAnnounced sets up the state of an announced partition, unless a
// batch of it did already, it was handed back meanwhile, or the buffer is
// stopping.
func (b *windowBuffer) attachAnnounced(ctx context.Context, p *partition.Partition) {
	if p.Retry || p.Revoked() {
		return
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.mu.Lock()
	over := b.ended || b.closed
	b.mu.Unlock()
	if over {
		return
	}
	ps, fresh, err := b.partFor(p)
	if err != nil || !fresh {
		return // partFor logged a state that cannot be set up
	}
	b.unpark(ctx, ps)
}
