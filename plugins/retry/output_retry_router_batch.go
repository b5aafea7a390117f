package retry

import (
	"context"
	"errors"
	"strconv"
	"sync"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// WriteBatch routes a batch: each message is classified as in Write, and
// the messages for each child are written to it as one batch, the
// children concurrently. Writing message by message would cost one
// synchronous produce per record (the redpanda output serialises its
// writes), which caps a burst of failures at ~100 records/s.
//
// The result is the batch's ack: nil when every child acknowledged its
// part, otherwise a BatchError naming the messages whose write failed, so
// only those are nacked (and redelivered).
func (r *retryRouter) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	if r.order != nil {
		// Park decisions depend on the previous message's outcome.
		return r.writeBatchSerial(ctx, batch)
	}
	type part struct {
		child *service.OwnedOutput
		msgs  service.MessageBatch
		idx   []int
		decs  []Decision
	}
	out := &part{child: r.out}
	retry := &part{child: r.retry}
	dlq := &part{child: r.dlq}
	late := &part{child: r.late}
	for i, msg := range batch {
		if msg.GetError() == nil {
			out.msgs, out.idx = append(out.msgs, msg), append(out.idx, i)
			continue
		}
		prev, retriable, class, lastErr := r.failure(msg)
		dec := r.ladder.OnFailure(prev, r.clock.Now(), retriable, class, lastErr)
		p, c := retry, (*service.Message)(nil)
		switch {
		case r.isLate(dec):
			p, c = late, lateCopy(msg, dec)
		case dec.Route == ToDLQ:
			p, c = dlq, dlqCopy(msg, dec)
		default:
			c = stageCopy(msg, dec.State, dec.Topic)
		}
		p.msgs, p.idx, p.decs = append(p.msgs, c), append(p.idx, i), append(p.decs, dec)
	}

	var (
		mu     sync.Mutex
		batchE *service.BatchError
		wg     sync.WaitGroup
	)
	fail := func(i int, err error) {
		mu.Lock()
		defer mu.Unlock()
		if batchE == nil {
			batchE = service.NewBatchError(batch, err)
		}
		batchE.Failed(i, err)
	}
	for _, p := range []*part{out, retry, dlq, late} {
		if len(p.msgs) == 0 {
			continue
		}
		wg.Go(func() {
			failed := make([]error, len(p.msgs))
			var err error
			if p == dlq || p == late {
				err = ladderDurable(ctx, p.msgs)
			}
			if err == nil {
				err = p.child.WriteBatch(ctx, p.msgs)
			}
			if err != nil {
				var be *service.BatchError
				if errors.As(err, &be) {
					be.WalkMessages(func(i int, _ *service.Message, e error) bool {
						if i < len(failed) {
							failed[i] = e
						}
						return true
					})
				} else {
					for i := range failed {
						failed[i] = err
					}
				}
			}
			for i, e := range failed {
				if e != nil {
					fail(p.idx[i], e)
					continue
				}
				if p.decs != nil {
					r.countSent(p.decs[i])
				}
			}
		})
	}
	wg.Wait()
	if batchE != nil {
		return batchE
	}
	return nil
}

// writeBatchSerial writes a batch message by message in order.
func (r *retryRouter) writeBatchSerial(ctx context.Context, batch service.MessageBatch) error {
	var batchE *service.BatchError
	for i, msg := range batch {
		if err := r.Write(ctx, msg); err != nil {
			if batchE == nil {
				batchE = service.NewBatchError(batch, err)
			}
			batchE.Failed(i, err)
		}
	}
	if batchE != nil {
		return batchE
	}
	return nil
}

// countSent updates the metrics of an acknowledged stage or DLQ write.
func (r *retryRouter) countSent(dec Decision) {
	switch {
	case dec.Route != ToDLQ:
		r.sent.Incr(1, strconv.Itoa(dec.Stage), dec.Topic)
	case dec.Class == meta.ClassRetriesExhausted:
		r.exhausted.Incr(1)
	default:
		r.fatal.Incr(1, dec.Class)
	}
}
