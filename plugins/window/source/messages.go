package source

import (
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/plugins/window/partition"

	"github.com/streamkit/pipeline/internal/meta"
)

// toMessages turns consecutive records of one partition into messages with
// the redpanda input's metadata (kafka_key, kafka_topic, kafka_partition,
// kafka_offset, kafka_timestamp_unix, kafka_timestamp_ms,
// kafka_tombstone_message, kafka_lag, every header) and the source batch
// under partition.MetaKey.
//
// Building the messages was a third of a pass-through's CPU (and most of
// its garbage), so it avoids what it can:
//   - Every message starts as a copy of one template holding the batch's
//     metadata. Nine keys do not fit a map's first group of eight: set one
//     by one, each message's map was allocated small and then rehashed into
//     a table; copied from the template it is allocated at its size once.
//   - Values shared by the batch (topic, partition, lag, the batch itself)
//     are boxed into interfaces once, and the timestamps once per distinct
//     value (records produced together share them): boxing an integer or a
//     string allocates.
//   - Integers are int64, which Benthos renders as text without its JSON
//     encoder (outputs copying metadata into headers render every key of
//     every message); the text is the same as for the redpanda input's ints.
func toMessages(recs []*kgo.Record, b *partition.Batch) service.MessageBatch {
	batch := make(service.MessageBatch, len(recs))
	if len(recs) == 0 {
		return batch
	}
	first := recs[0]
	tmpl := service.NewMessage(nil)
	tmpl.MetaSetMut(meta.KafkaKey, "")
	tmpl.MetaSetMut(meta.KafkaTopic, first.Topic)
	tmpl.MetaSetMut(meta.KafkaPartition, int64(first.Partition))
	tmpl.MetaSetMut(meta.KafkaOffset, int64(0))
	tmpl.MetaSetMut(meta.KafkaTimestampUnix, int64(0))
	tmpl.MetaSetMut(meta.KafkaTimestampMs, int64(0))
	tmpl.MetaSetMut(meta.KafkaTombstone, false)
	if lag := b.Part.Lag(); lag >= 0 {
		tmpl.MetaSetMut(meta.KafkaLag, lag)
	}
	tmpl.MetaSetMut(partition.MetaKey, b)

	var secs, millis boxedInt
	for i, r := range recs {
		msg := tmpl.Copy()
		msg.SetBytes(r.Value)
		msg.MetaSetMut(meta.KafkaKey, string(r.Key))
		msg.MetaSetMut(meta.KafkaOffset, r.Offset)
		msg.MetaSetMut(meta.KafkaTimestampUnix, secs.box(r.Timestamp.Unix()))
		msg.MetaSetMut(meta.KafkaTimestampMs, millis.box(r.Timestamp.UnixMilli()))
		if r.Value == nil {
			msg.MetaSetMut(meta.KafkaTombstone, true)
		}
		for _, h := range r.Headers {
			msg.MetaSetMut(h.Key, string(h.Value))
		}
		batch[i] = msg
	}
	return batch
}

// boxedInt keeps the last integer boxed, so runs of equal values share one
// allocation.
type boxedInt struct {
	n   int64
	v   any
	set bool
}

func (c *boxedInt) box(n int64) any {
	if !c.set || c.n != n {
		c.n, c.v, c.set = n, n, true
	}
	return c.v
}
