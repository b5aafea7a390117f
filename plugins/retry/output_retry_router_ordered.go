package retry

import (
	"context"
	"fmt"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// writeOrdered is Write for `ordering: key`. Bookkeeping changes only after
// the child acknowledged, so a failed write (nack, redelivery) repeats the
// same decision instead of corrupting the queue.
func (r *retryRouter) writeOrdered(ctx context.Context, msg *service.Message, key string) error {
	st, fromRetry, err := DecodeState(msg.MetaGet)
	if err != nil {
		// Corrupt state: the unordered path dead-letters it.
		_, err := r.writeFailure(ctx, msg)
		return err
	}
	if !fromRetry {
		st = originOf(msg)
	}
	pos, headTopic, headDue := r.order.position(key, st.OrderTicket)
	if pos == Behind {
		return r.park(ctx, msg, key, st, headTopic, headDue)
	}

	// Free or Head: process normally.
	if msg.GetError() == nil {
		if err := r.out.Write(ctx, msg); err != nil {
			return err
		}
		if pos == Head {
			r.order.done(key, st.OrderTicket)
		}
		return nil
	}
	prev, retriable, class, lastErr := r.failure(msg)
	prev.OrderTicket = r.order.ticket(st.OrderTicket)
	dec := r.ladder.OnFailure(prev, r.clock.Now(), retriable, class, lastErr)
	if err := r.send(ctx, msg, dec); err != nil {
		return err
	}
	if dec.Route == ToDLQ {
		r.order.done(key, prev.OrderTicket)
	} else {
		r.order.enqueue(key, prev.OrderTicket, dec.Topic, dec.Due)
	}
	return nil
}

// park sends a record behind its key's head: same stage topic (so the
// partition's FIFO keeps it behind), due no earlier than the head and at
// least the first stage delay from now so a head still in flight is not
// overtaken by a busy loop of re-parking. Its own outcome is ignored and its
// attempt count is unchanged: it is processed again once it is the head.
func (r *retryRouter) park(ctx context.Context, msg *service.Message, key string, st State, topic string, headDue time.Time) error {
	due := r.clock.Now().Add(r.ladder.Delays[0])
	if headDue.After(due) {
		due = headDue
	}
	st.DueMs = due.UnixMilli()
	st.OrderTicket = r.order.ticket(st.OrderTicket)
	if err := r.retry.Write(ctx, stageCopy(msg, st, topic)); err != nil {
		return fmt.Errorf("retry write (park) to %s: %w", topic, err)
	}
	r.parked.Incr(1)
	r.order.enqueue(key, st.OrderTicket, topic, due)
	return nil
}
