package retry

import (
	"context"
	"sync"
	"time"
)

// TP identifies a topic partition.
type TP struct {
	Topic     string
	Partition int32
}

// Pending is a fetched record waiting for its due time. A zero Due is due
// immediately (a record without retry headers).
type Pending[T any] struct {
	Value T
	Due   time.Time
}

// Released is a record the gate has let through.
type Released[T any] struct {
	TP    TP
	Value T
	Due   time.Time
}

// Gate releases fetched records per partition in offset order, each no
// earlier than its due time. While the head of a partition is not due the
// partition is paused (through the pause callback) and a timer is armed for
// the head's due time, so no goroutine sleeps on it and other partitions keep
// flowing. Records behind the head stay buffered here, so nothing is
// skipped; the partition is resumed once its buffer is drained.
//
// pause and resume are called with the gate's lock held, which serialises
// them with revocation; they must not call back into the gate.
type Gate[T any] struct {
	clock  Clock
	pause  func(TP)
	resume func(TP)

	mu     sync.Mutex
	parts  map[TP]*gatePart[T]
	ready  []Released[T]
	closed bool

	readyCh chan struct{} // signalled when ready grows
	spaceCh chan struct{} // signalled when ready shrinks
	done    chan struct{} // closed by Close
}

type gatePart[T any] struct {
	queue     []Pending[T]
	paused    bool
	stopTimer func() bool
	timerDue  time.Time
}

// NewGate returns a gate; pause and resume may be nil.
func NewGate[T any](clock Clock, pause, resume func(TP)) *Gate[T] {
	if pause == nil {
		pause = func(TP) {}
	}
	if resume == nil {
		resume = func(TP) {}
	}
	return &Gate[T]{
		clock:   clock,
		pause:   pause,
		resume:  resume,
		parts:   map[TP]*gatePart[T]{},
		readyCh: make(chan struct{}, 1),
		spaceCh: make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
}

// Add appends fetched records of one partition, in offset order.
func (g *Gate[T]) Add(tp TP, recs []Pending[T]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	p := g.parts[tp]
	if p == nil {
		p = &gatePart[T]{}
		g.parts[tp] = p
	}
	p.queue = append(p.queue, recs...)
	g.pump(tp, p)
}

// pump moves due heads to the ready list and pauses, re-arms or resumes the
// partition. Called with g.mu held.
func (g *Gate[T]) pump(tp TP, p *gatePart[T]) {
	now := g.clock.Now()
	moved := false
	for len(p.queue) > 0 && !now.Before(p.queue[0].Due) {
		h := p.queue[0]
		p.queue[0] = Pending[T]{} // let the GC have the record
		p.queue = p.queue[1:]
		g.ready = append(g.ready, Released[T]{TP: tp, Value: h.Value, Due: h.Due})
		moved = true
	}
	if moved {
		signal(g.readyCh)
	}
	if len(p.queue) == 0 {
		p.queue = nil
		g.stopTimer(p)
		if p.paused {
			p.paused = false
			g.resume(tp)
		}
		return
	}
	if !p.paused {
		p.paused = true
		g.pause(tp)
	}
	due := p.queue[0].Due
	if p.stopTimer != nil && p.timerDue.Equal(due) {
		return
	}
	g.stopTimer(p)
	p.timerDue = due
	p.stopTimer = g.clock.AfterFunc(due.Sub(now), func() {
		g.mu.Lock()
		defer g.mu.Unlock()
		// A revoke may have replaced or dropped this partition meanwhile.
		if g.parts[tp] != p || g.closed {
			return
		}
		p.stopTimer = nil
		g.pump(tp, p)
	})
}

func (g *Gate[T]) stopTimer(p *gatePart[T]) {
	if p.stopTimer != nil {
		p.stopTimer()
		p.stopTimer = nil
	}
}

// Next returns the oldest released record, waiting for one until ctx is
// done. It returns context.Canceled-style errors from ctx, or
// errGateClosed once closed.
func (g *Gate[T]) Next(ctx context.Context) (Released[T], error) {
	for {
		g.mu.Lock()
		if len(g.ready) > 0 {
			r := g.ready[0]
			g.ready[0] = Released[T]{}
			g.ready = g.ready[1:]
			g.mu.Unlock()
			signal(g.spaceCh)
			return r, nil
		}
		closed := g.closed
		g.mu.Unlock()
		if closed {
			return Released[T]{}, errGateClosed
		}
		select {
		case <-g.readyCh:
		case <-g.done:
		case <-ctx.Done():
			return Released[T]{}, ctx.Err()
		}
	}
}

// NextBatch is Next returning every released record up to max (at least
// one), so records released together travel downstream as one batch.
func (g *Gate[T]) NextBatch(ctx context.Context, max int) ([]Released[T], error) {
	first, err := g.Next(ctx)
	if err != nil {
		return nil, err
	}
	out := []Released[T]{first}
	g.mu.Lock()
	n := min(len(g.ready), max-1)
	if n > 0 {
		out = append(out, g.ready[:n]...)
		clear(g.ready[:n])
		g.ready = g.ready[n:]
	}
	g.mu.Unlock()
	if n > 0 {
		signal(g.spaceCh)
	}
	return out, nil
}

// WaitSpace blocks while max or more records are released but not yet
// taken, so a slow pipeline throttles fetching instead of growing memory.
func (g *Gate[T]) WaitSpace(ctx context.Context, max int) error {
	for {
		g.mu.Lock()
		n, closed := len(g.ready), g.closed
		g.mu.Unlock()
		if closed {
			return errGateClosed
		}
		if n < max {
			return nil
		}
		select {
		case <-g.spaceCh:
		case <-g.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Drop forgets revoked or lost partitions: buffered and released-but-not-
// taken records are discarded (the next owner re-reads them from the
// committed offset), timers are stopped and paused partitions are resumed,
// because franz-go keeps pauses across rebalances and a partition assigned
// back to us later would otherwise never be fetched.
func (g *Gate[T]) Drop(tps []TP) {
	g.mu.Lock()
	defer g.mu.Unlock()
	drop := map[TP]bool{}
	for _, tp := range tps {
		drop[tp] = true
		if p := g.parts[tp]; p != nil {
			g.stopTimer(p)
			delete(g.parts, tp)
		}
		// Resume even without local state: a pause must never outlive
		// our ownership of the partition.
		g.resume(tp)
	}
	kept := g.ready[:0]
	for _, r := range g.ready {
		if !drop[r.TP] {
			kept = append(kept, r)
		}
	}
	clear(g.ready[len(kept):])
	g.ready = kept
	signal(g.spaceCh)
}

// Paused lists the partitions currently paused by the gate.
func (g *Gate[T]) Paused() []TP {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []TP
	for tp, p := range g.parts {
		if p.paused {
			out = append(out, tp)
		}
	}
	return out
}

// Close stops all timers and wakes waiters.
func (g *Gate[T]) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	for _, p := range g.parts {
		g.stopTimer(p)
	}
	close(g.done)
}

type gateClosedError struct{}

func (gateClosedError) Error() string { return "retry gate closed" }

var errGateClosed error = gateClosedError{}

// signal does a non-blocking send on a 1-buffered wake-up channel.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
