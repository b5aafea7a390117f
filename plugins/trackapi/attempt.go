package trackapi

import (
	"context"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// outcome of one record of a request.
type outcome uint8

const (
	notSent outcome = iota // not handed to the producer (yet, or again)
	pending                // handed over, no answer from the broker yet
	written                // acknowledged by the broker
	failed                 // failed for certain: not written
)

// attempt is one request's records and what became of each. A retry with
// the same Idempotency-Key finds it and sends only the records that are not
// written and not pending, so a retry never writes an event twice.
type attempt struct {
	recs []*kgo.Record
	body []byte // the 200 answer
	hash [32]byte

	mu      sync.Mutex
	state   []outcome
	lastErr error
	inAir   int
	settled chan struct{} // closed when inAir drops to 0
}

func newAttempt(recs []*kgo.Record, okBody []byte, hash [32]byte) *attempt {
	return &attempt{recs: recs, body: okBody, hash: hash, state: make([]outcome, len(recs)), settled: closedChan()}
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// send hands every record that is neither written nor pending to w, and
// returns a channel closed when no record of the attempt is pending.
func (a *attempt) send(w *writer) <-chan struct{} {
	a.mu.Lock()
	var idx []int
	for i, s := range a.state {
		if s == notSent || s == failed {
			idx = append(idx, i)
			a.state[i] = pending
		}
	}
	if len(idx) > 0 && a.inAir == 0 {
		a.settled = make(chan struct{})
	}
	a.inAir += len(idx)
	settled := a.settled
	a.mu.Unlock()
	if len(idx) == 0 {
		return settled
	}
	recs := make([]*kgo.Record, len(idx))
	for j, i := range idx {
		// A record is handed to franz-go once per send: a fresh copy, as
		// the client owns a record until its callback.
		r := *a.recs[i]
		recs[j] = &r
	}
	w.produce(context.Background(), recs, func(j int, err error) { a.settle(idx[j], err) })
	return settled
}

func (a *attempt) settle(i int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.state[i], a.lastErr = failed, err
	} else {
		a.state[i] = written
	}
	a.inAir--
	if a.inAir == 0 {
		close(a.settled)
	}
}

// tally counts the records by outcome.
func (a *attempt) tally() (nWritten, nFailed, nPending int, writtenIdx []int, lastErr error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, s := range a.state {
		switch s {
		case written:
			nWritten++
			writtenIdx = append(writtenIdx, i)
		case failed, notSent:
			nFailed++
		case pending:
			nPending++
		}
	}
	return nWritten, nFailed, nPending, writtenIdx, a.lastErr
}
