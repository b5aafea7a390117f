package retry

import (
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
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
