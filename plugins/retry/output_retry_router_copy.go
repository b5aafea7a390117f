package retry

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// originOf builds the initial state of a message that has not failed
// before from the redpanda input's kafka_* metadata.
func originOf(msg *service.Message) State {
	st := State{OriginalTopic: metaString(msg, meta.KafkaTopic)}
	if v, err := strconv.ParseInt(metaString(msg, meta.KafkaPartition), 10, 32); err == nil {
		st.OriginalPartition = int32(v)
	}
	if v, err := strconv.ParseInt(metaString(msg, meta.KafkaOffset), 10, 64); err == nil {
		st.OriginalOffset = v
	}
	if v, err := strconv.ParseInt(metaString(msg, meta.KafkaTimestampMs), 10, 64); err == nil {
		st.OriginalTimestampMs = v
	}
	return st
}

// stageCopy is the message for the `retry` child: the payload and user
// metadata (headers) as received, the retry state as decimal strings, and
// the routing fields. kafka_* metadata describes the record just consumed,
// not the one to produce, and error_class belongs to this failure only, so
// both are dropped; the consumer of the stage topic sets them afresh.
func stageCopy(msg *service.Message, st State, topic string) *service.Message {
	c := msg.Copy()
	c.SetError(nil)
	key := metaString(msg, meta.KafkaKey)
	var drop []string
	_ = c.MetaWalkMut(func(k string, _ any) error {
		if strings.HasPrefix(k, meta.KafkaPrefix) || k == meta.ErrorClass || k == meta.RetryReleasedMs ||
			k == meta.RetryStageTopic || k == meta.RetryStageKey || k == meta.RetryOrderTicket {
			drop = append(drop, k)
		}
		return nil
	})
	for _, k := range drop {
		c.MetaDelete(k)
	}
	for _, f := range st.Encode() {
		c.MetaSetMut(f.Key, f.Value)
	}
	c.MetaSetMut(meta.RetryStageTopic, topic)
	if key != "" {
		c.MetaSetMut(meta.RetryStageKey, key)
	}
	if w := ladderWatchOf(c); w != nil {
		w.LadderRetry(time.UnixMilli(st.DueMs))
	}
	return c
}

// dlqCopy is the message for the `dlq` child: everything as received plus
// error_class and the retry state with numbers typed as integers, which is
// what the dead_letter output reads. The error flag stays so error() works.
func dlqCopy(msg *service.Message, dec Decision) *service.Message {
	c := msg.Copy()
	st := dec.State
	c.MetaSetMut(meta.ErrorClass, dec.Class)
	c.MetaSetMut(meta.RetryAttempt, st.Attempt)
	c.MetaSetMut(meta.RetryFirstFailureMs, st.FirstFailureMs)
	c.MetaSetMut(meta.RetryLastFailureMs, st.LastFailureMs)
	c.MetaSetMut(meta.RetryOriginalTopic, st.OriginalTopic)
	c.MetaSetMut(meta.RetryOriginalPartition, int(st.OriginalPartition))
	c.MetaSetMut(meta.RetryOriginalOffset, st.OriginalOffset)
	c.MetaSetMut(meta.RetryOriginalTimestampMs, st.OriginalTimestampMs)
	c.MetaSetMut(meta.RetryLastError, truncateUTF8(st.LastError, maxErrorLen))
	// A due time means nothing once the message left the ladder.
	c.MetaDelete(meta.RetryDueMs)
	c.MetaDelete(meta.RetryReleasedMs)
	if w := ladderWatchOn(c); w != nil {
		// The watch stays on the copy: ladderDurable waits on it before
		// the dead-letter write.
		w.LadderDead()
	}
	return c
}

// ladderWatcher is the window buffer's watch on a failed event of a
// window_kafka partition (meta.StashWindowLadder): the partition's windows
// wait for the event while it is on the ladder, so the router tells the
// buffer which route it took. LadderDurable returns once the buffer's
// record of a dead letter is committed with the partition's offsets: a
// restart then never counts, in a window, an event that is also in the
// dead-letter topic.
type ladderWatcher interface {
	LadderRetry(due time.Time)
	LadderDead()
	LadderDurable(ctx context.Context) error
}

// ladderWatchOf takes the watch off c (it concerns the event, not the
// record written) and returns it, or nil.
func ladderWatchOf(c *service.Message) ladderWatcher {
	w := ladderWatchOn(c)
	if w != nil {
		c.MetaDelete(meta.StashWindowLadder)
	}
	return w
}

func ladderWatchOn(c *service.Message) ladderWatcher {
	v, ok := c.MetaGetMut(meta.StashWindowLadder)
	if !ok {
		return nil
	}
	w, _ := v.(ladderWatcher)
	return w
}

// ladderDurable waits, before dead-letter copies are written, until the
// window buffer's records of them are durable, and takes their watches off.
func ladderDurable(ctx context.Context, copies service.MessageBatch) error {
	for _, c := range copies {
		if w := ladderWatchOf(c); w != nil {
			if err := w.LadderDurable(ctx); err != nil {
				return fmt.Errorf("waiting for the window stage to record the dead letter: %w", err)
			}
		}
	}
	return nil
}

func metaString(msg *service.Message, key string) string {
	v, _ := msg.MetaGet(key)
	return v
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
