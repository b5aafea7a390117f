package window

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/wal"
)

// walRetryDelay spaces out re-deliveries of a result the output nacked: with
// the log the input is already acknowledged, so the buffer retries itself.
const walRetryDelay = 100 * time.Millisecond

// writeLogged is WriteBatch with the write-ahead log: redeliveries are
// skipped, the rest is appended and synced, the input is acknowledged, and
// only then windowed, held by the log segment instead of the input.
func (b *windowBuffer) writeLogged(ctx context.Context, batch service.MessageBatch, ackFn service.AckFunc) error {
	kept := batch[:0:0]
	recs := make([]wal.Msg, 0, len(batch))
	// The records' metadata share one slice instead of one per message,
	// sized from the first message: an input sets the same keys on each
	// (a Kafka input about ten, the file input three).
	var metas []wal.Meta
	var skipped int64
	for i, msg := range batch {
		rec := toWALMsg(msg, &metas)
		if i == 0 {
			metas = make([]wal.Meta, 0, len(rec.Meta)*(len(batch)-1))
		}
		if b.wal.Seen(&rec) {
			skipped++
			continue
		}
		kept = append(kept, msg)
		recs = append(recs, rec)
	}
	if skipped > 0 && b.m.redelivered != nil {
		b.m.redelivered.Incr(skipped)
	}
	if len(kept) == 0 {
		return ackFn(ctx, nil)
	}
	ref, err := b.wal.Append(recs)
	if err != nil {
		// Not acknowledged: the input redelivers the batch.
		return fmt.Errorf("window: %w", err)
	}
	if err := ackFn(ctx, nil); err != nil && b.log != nil {
		b.log.Warnf("window: acknowledging a logged batch: %v", err)
	}
	b.ingest(ctx, kept, engine.NewAck(ref.Release))
	return nil
}

// replayWAL windows the batches an earlier run logged but whose windows
// were not all written.
func (b *windowBuffer) replayWAL() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	var n int64
	err := b.wal.Replay(func(r wal.Batch) {
		batch := make(service.MessageBatch, len(r.Msgs))
		for i := range r.Msgs {
			batch[i] = fromWALMsg(&r.Msgs[i])
		}
		n += int64(len(batch))
		b.ingest(context.Background(), batch, engine.NewAck(r.Ref.Release))
	})
	if b.m.replayed != nil {
		b.m.replayed.Incr(n)
	}
	if n > 0 && b.log != nil {
		b.log.Infof("window: replayed %d logged events from %s", n, b.opts.walDir)
	}
	return err
}

// retryLater puts a nacked result back at the head of the queue after a
// pause, keeping its release (the log segment's hold) for when it is written.
func (b *windowBuffer) retryLater(batch service.MessageBatch, release func(error), ps *partState) {
	time.AfterFunc(walRetryDelay, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.closed {
			release(errShutdown)
			return
		}
		if ps != nil && ps.dropped {
			release(errRevoked)
			return
		}
		b.queue = append([]outItem{{batch: batch, n: len(batch), release: release, ps: ps}}, b.queue...)
		b.queued += len(batch)
		b.broadcastLocked(&b.dataCh)
	})
}

// toWALMsg makes a message's log record; its metadata is appended to metas
// (shared by a batch's records) and the record keeps its own part of it.
func toWALMsg(msg *service.Message, metas *[]wal.Meta) wal.Msg {
	body, _ := msg.AsBytes()
	m := wal.Msg{Body: body}
	if err := msg.GetError(); err != nil {
		m.Err = err.Error()
	}
	mm := *metas
	start := len(mm)
	_ = msg.MetaWalkMut(func(k string, v any) error {
		switch x := v.(type) {
		case int64:
			mm = append(mm, wal.Meta{K: k, I: x, Int: true})
		case int32:
			mm = append(mm, wal.Meta{K: k, I: int64(x), Int: true})
		case int:
			mm = append(mm, wal.Meta{K: k, I: int64(x), Int: true})
		default:
			mm = append(mm, wal.Meta{K: k, S: metaString(v)})
		}
		return nil
	})
	// Capacity-limited: appending to one record's metadata never reaches
	// the next record's.
	m.Meta = mm[start:len(mm):len(mm)]
	*metas = mm
	m.Locate()
	return m
}

func fromWALMsg(m *wal.Msg) *service.Message {
	msg := service.NewMessage(m.Body)
	for _, kv := range m.Meta {
		msg.MetaSetMut(kv.K, kv.Text())
	}
	if m.Err != "" {
		msg.SetError(errors.New(m.Err))
	}
	return msg
}
