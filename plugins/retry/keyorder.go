package retry

import (
	"slices"
	"sync"
	"time"
)

// keyOrder is the in-process bookkeeping of `ordering: key`: for every key
// with records on the retry path, the FIFO of their tickets and where the
// head currently waits. A record of that key that is not the head is parked
// behind the head (same topic, due no earlier), so the key's records reach
// the success output in arrival order.
//
// It is process memory: lost on restart (records then carry tickets nobody
// knows and are treated as heads) and only correct when all partitions of
// the source and retry topics for a key are consumed by this process.
type keyOrder struct {
	mu   sync.Mutex
	next uint64
	keys map[string]*keyQueue
}

type keyQueue struct {
	tickets []uint64
	topic   string    // stage topic the head was last sent to
	due     time.Time // due time of the head there
}

func newKeyOrder(now time.Time) *keyOrder {
	// Tickets start from the clock so a restarted process does not reuse
	// tickets still travelling in retry topics.
	return &keyOrder{next: uint64(now.UnixNano()), keys: map[string]*keyQueue{}}
}

// Position says how a record relates to its key's queue.
type Position int

const (
	// Free: nothing of this key is on the retry path; process normally.
	Free Position = iota
	// Head: the record is the oldest of its key on the retry path.
	Head
	// Behind: an older record of the key is on the retry path.
	Behind
)

// position classifies a record of key carrying ticket (0 = none) and, for
// Behind, returns the head's topic and due time.
func (k *keyOrder) position(key string, ticket uint64) (Position, string, time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	q := k.keys[key]
	if q == nil || len(q.tickets) == 0 {
		return Free, "", time.Time{}
	}
	if ticket != 0 && q.tickets[0] == ticket {
		return Head, "", time.Time{}
	}
	return Behind, q.topic, q.due
}

// ticket returns t or a fresh ticket when t is 0.
func (k *keyOrder) ticket(t uint64) uint64 {
	if t != 0 {
		return t
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.next++
	return k.next
}

// enqueue records that ticket is now on the retry path (idempotent). When
// it is the head, topic and due say where it waits.
func (k *keyOrder) enqueue(key string, ticket uint64, topic string, due time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	q := k.keys[key]
	if q == nil {
		q = &keyQueue{}
		k.keys[key] = q
	}
	if !slices.Contains(q.tickets, ticket) {
		q.tickets = append(q.tickets, ticket)
	}
	if q.tickets[0] == ticket {
		q.topic, q.due = topic, due
	}
}

// done removes ticket after its record left the retry path (success output
// or DLQ).
func (k *keyOrder) done(key string, ticket uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	q := k.keys[key]
	if q == nil {
		return
	}
	if i := slices.Index(q.tickets, ticket); i >= 0 {
		q.tickets = slices.Delete(q.tickets, i, i+1)
	}
	if len(q.tickets) == 0 {
		delete(k.keys, key)
	}
}
