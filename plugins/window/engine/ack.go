package engine

import "sync/atomic"

// Ack is a reference-counted acknowledgement node. Inputs own one (its done
// func acks the Benthos transaction), time buckets (panes, session slots) own
// one whose children are the inputs that landed in them, and emissions hold
// the bucket nodes they were computed from. Counting holds instead of keeping
// one closure per event keeps bookkeeping O(buckets), not O(events).
//
// A node starts with one hold owned by its creator. When the last hold is
// released the node resolves: it releases its children with the first error
// any holder reported (so one failed emission nacks every contributing input)
// and calls done.
type Ack struct {
	pending  atomic.Int64
	err      atomic.Pointer[error]
	children []*Ack
	done     func(error)
}

// NewAck returns a node with a single hold owned by the caller.
func NewAck(done func(error)) *Ack {
	a := &Ack{done: done}
	a.pending.Store(1)
	return a
}

// Hold adds a hold; each Hold must be matched by one Release.
func (a *Ack) Hold() { a.pending.Add(1) }

// Release drops a hold, recording err if it is the first failure.
func (a *Ack) Release(err error) {
	if err != nil {
		e := err
		a.err.CompareAndSwap(nil, &e)
	}
	if a.pending.Add(-1) != 0 {
		return
	}
	var final error
	if p := a.err.Load(); p != nil {
		final = *p
	}
	children := a.children
	a.children = nil
	for _, c := range children {
		c.Release(final)
	}
	if a.done != nil {
		a.done(final)
	}
}

// Adopt makes child wait for this node: child gets a hold that a releases
// when it resolves. Only the goroutine that owns a's creation hold calls it,
// and only while it still owns that hold, so the slice is never read
// concurrently with this append (Release reads it after the count reaches 0,
// ordered by the atomic decrement).
func (a *Ack) Adopt(child *Ack) {
	child.Hold()
	a.AdoptHeld(child)
}

// AdoptHeld is Adopt for a hold on child that the caller already has: a
// takes it over and releases it when it resolves. Same rules as Adopt.
func (a *Ack) AdoptHeld(child *Ack) {
	a.children = append(a.children, child)
}

// Pending reports the outstanding holds (for tests and diagnostics).
func (a *Ack) Pending() int64 { return a.pending.Load() }
