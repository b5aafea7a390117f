package retry

import (
	"fmt"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/meta"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A retried event reads as part of the partition it first came from, with
// the metadata the window buffer sees for it unchanged from the mapping
// configs used to carry: origin topic and partition (as the header
// strings), no offset, the retry state kept.
func TestRestoreOriginMakesARetriedEventPartOfItsOriginPartition(t *testing.T) {
	msg := recordToMessage(&kgo.Record{Topic: "clickstream-retry-1", Partition: 0, Offset: 41, Value: []byte(`{}`),
		Headers: []kgo.RecordHeader{
			{Key: meta.RetryOriginalTopic, Value: []byte("clickstream")},
			{Key: meta.RetryOriginalPartition, Value: []byte("2")},
			{Key: meta.RetryOriginalOffset, Value: []byte("7")},
		}})
	restoreOrigin(msg)
	for k, want := range map[string]any{meta.KafkaTopic: "clickstream", meta.KafkaPartition: "2", meta.RetryOriginalOffset: "7"} {
		if got, _ := msg.MetaGetMut(k); got != want {
			t.Errorf("%s = %#v, want %#v", k, got, want)
		}
	}
	if _, ok := msg.MetaGetMut(meta.KafkaOffset); ok {
		t.Errorf("%s kept: the stage topic's offset would read as one of the origin partition", meta.KafkaOffset)
	}
}

func TestRestoreOriginLeavesARecordWithoutRetryStateAlone(t *testing.T) {
	msg := service.NewMessage(nil)
	msg.MetaSetMut(meta.KafkaTopic, "t")
	msg.MetaSetMut(meta.KafkaOffset, 3)
	restoreOrigin(msg)
	if v, _ := msg.MetaGetMut(meta.KafkaTopic); v != "t" {
		t.Errorf("topic = %v", v)
	}
	if v, _ := msg.MetaGetMut(meta.KafkaOffset); v != 3 {
		t.Errorf("offset = %v", v)
	}
}

// The field reaches the input: with restore_origin the released event
// names its origin, without it the stage record (the redpanda input's view).
func TestRetryTopicsRestoreOriginField(t *testing.T) {
	for _, c := range []struct {
		field, topic, partition string
		offset                  bool
	}{
		{"restore_origin: true", "orig", "3", false},
		{"", "stage", "0", true},
	} {
		name := "ro-" + c.topic
		out := newSink(t, name)
		addr := kafkatest.Cluster(t, 1, "stage")
		kafkatest.RunStream(t, fmt.Sprintf(`
input:
  retry_topics:
    seed_brokers: [ %s ]
    topics: [ stage ]
    consumer_group: g
    %s
output:
  retry_test_sink: { name: %s }
`, addr, c.field, name), "warn")
		kafkatest.Produce(t, addr, &kgo.Record{Topic: "stage", Value: []byte(`{}`), Headers: []kgo.RecordHeader{
			{Key: meta.RetryAttempt, Value: []byte("1")},
			{Key: meta.RetryOriginalTopic, Value: []byte("orig")},
			{Key: meta.RetryOriginalPartition, Value: []byte("3")},
		}})
		out.waitFor(t, 20*time.Second, "the released record", func() bool { return len(out.got()) == 1 })
		m := out.got()[0].meta
		_, hasOffset := m[meta.KafkaOffset]
		if m[meta.KafkaTopic] != c.topic || m[meta.KafkaPartition] != c.partition || hasOffset != c.offset {
			t.Errorf("%q: kafka_topic %q kafka_partition %q offset present %v, want %q %q %v", c.field,
				m[meta.KafkaTopic], m[meta.KafkaPartition], hasOffset, c.topic, c.partition, c.offset)
		}
	}
}
