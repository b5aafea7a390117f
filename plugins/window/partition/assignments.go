package partition

import "sync"

// Assignments tells the window buffer which partitions the window_kafka
// inputs of its pipeline own and are ready to window (their snapshot, if
// any, is loaded), before any batch of theirs arrives: a partition may
// deliver nothing for a long time, or ever. One restored from a snapshot
// with nothing after its committed offset must still close the snapshot's
// windows when it goes idle, as an uninterrupted run would have done, and
// retried events of it must find its state. Batches carry their partition,
// so without this the buffer would learn of a partition only from its first
// batch.
//
// One Assignments serves one pipeline (stream): see Shared.
type Assignments struct {
	mu    sync.Mutex
	ready map[*Partition]struct{}
	watch func(*Partition)
}

// assignmentsKey is the generic-resource key of a stream's Assignments.
type assignmentsKey struct{ stream string }

// Shared returns the Assignments of a stream, made on first use; getOrSet
// is the stream's Benthos Resources.GetOrSetGeneric and stream its
// StreamID (the generic values may be shared by every stream of a
// process).
func Shared(stream string, getOrSet func(key, value any) (any, bool)) *Assignments {
	a, _ := getOrSet(assignmentsKey{stream}, &Assignments{ready: map[*Partition]struct{}{}})
	return a.(*Assignments)
}

// Ready announces p: assigned, its snapshot loaded. The watcher hears of it
// now, or when it starts watching.
func (a *Assignments) Ready(p *Partition) {
	a.mu.Lock()
	a.ready[p] = struct{}{}
	w := a.watch
	a.mu.Unlock()
	if w != nil {
		w(p)
	}
}

// Gone withdraws p (handed back): a watcher that starts later does not hear
// of it.
func (a *Assignments) Gone(p *Partition) {
	a.mu.Lock()
	delete(a.ready, p)
	a.mu.Unlock()
}

// Watch calls fn for every partition announced so far and every one
// announced from now on. fn must not block: Ready is called from the
// consumer's rebalance callbacks. A later Watch replaces fn.
func (a *Assignments) Watch(fn func(*Partition)) {
	a.mu.Lock()
	a.watch = fn
	ready := make([]*Partition, 0, len(a.ready))
	for p := range a.ready {
		ready = append(ready, p)
	}
	a.mu.Unlock()
	for _, p := range ready {
		fn(p)
	}
}
