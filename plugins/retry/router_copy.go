package retry

import (
	"strconv"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// originOf builds the initial state of a message that has not failed
// before from the redpanda input's kafka_* metadata.
func originOf(msg *service.Message) State {
	st := State{OriginalTopic: metaString(msg, "kafka_topic")}
	if v, err := strconv.ParseInt(metaString(msg, "kafka_partition"), 10, 32); err == nil {
		st.OriginalPartition = int32(v)
	}
	if v, err := strconv.ParseInt(metaString(msg, "kafka_offset"), 10, 64); err == nil {
		st.OriginalOffset = v
	}
	if v, err := strconv.ParseInt(metaString(msg, "kafka_timestamp_ms"), 10, 64); err == nil {
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
	key := metaString(msg, "kafka_key")
	var drop []string
	_ = c.MetaWalkMut(func(k string, _ any) error {
		if strings.HasPrefix(k, "kafka_") || k == "error_class" || k == KeyReleasedMs ||
			k == KeyRetryTopic || k == KeyRetryKey || k == KeyOrderTicket {
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
	c.MetaSetMut(KeyRetryTopic, topic)
	if key != "" {
		c.MetaSetMut(KeyRetryKey, key)
	}
	return c
}

// dlqCopy is the message for the `dlq` child: everything as received plus
// error_class and the retry state with numbers typed as integers, which is
// what the dead_letter output reads. The error flag stays so error() works.
func dlqCopy(msg *service.Message, dec Decision) *service.Message {
	c := msg.Copy()
	st := dec.State
	c.MetaSetMut("error_class", dec.Class)
	c.MetaSetMut(KeyAttempt, st.Attempt)
	c.MetaSetMut(KeyFirstFailureMs, st.FirstFailureMs)
	c.MetaSetMut(KeyLastFailureMs, st.LastFailureMs)
	c.MetaSetMut(KeyOriginalTopic, st.OriginalTopic)
	c.MetaSetMut(KeyOriginalPartition, int(st.OriginalPartition))
	c.MetaSetMut(KeyOriginalOffset, st.OriginalOffset)
	c.MetaSetMut(KeyOriginalTimestampMs, st.OriginalTimestampMs)
	c.MetaSetMut(KeyLastError, truncateUTF8(st.LastError, maxErrorLen))
	// A due time means nothing once the message left the ladder.
	c.MetaDelete(KeyDueMs)
	c.MetaDelete(KeyReleasedMs)
	return c
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
