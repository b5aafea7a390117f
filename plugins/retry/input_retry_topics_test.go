package retry

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/meta"

	"github.com/twmb/franz-go/pkg/kgo"
)

func dueHeader(t time.Time) []kgo.RecordHeader {
	return []kgo.RecordHeader{
		{Key: meta.RetryDueMs, Value: []byte(strconv.FormatInt(t.UnixMilli(), 10))},
		{Key: meta.RetryAttempt, Value: []byte("1")},
	}
}

// A partition whose head is due in an hour is paused; a record due now on
// another partition of the same topic, and on another topic, still flows,
// and the record queued behind the long head is not released ahead of it.
func TestPausedPartitionDoesNotDelayOthers(t *testing.T) {
	addr := kafkatest.Cluster(t, 2, "stage-a", "stage-b")
	out := newSink(t, "pp-out")
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  retry_topics:
    seed_brokers: [ %s ]
    topics: [ stage-a, stage-b ]
    consumer_group: g-pp
output:
  retry_test_sink: { name: pp-out }
`, addr), "warn")
	now := time.Now()
	kafkatest.Produce(t, addr,
		&kgo.Record{Topic: "stage-a", Partition: 0, Value: []byte("long"), Headers: dueHeader(now.Add(time.Hour))},
		&kgo.Record{Topic: "stage-a", Partition: 0, Value: []byte("behind-long"), Headers: dueHeader(now)},
		&kgo.Record{Topic: "stage-a", Partition: 1, Value: []byte("now-a1"), Headers: dueHeader(now)},
		&kgo.Record{Topic: "stage-b", Partition: 0, Value: []byte("soon-b0"), Headers: dueHeader(now.Add(300 * time.Millisecond))},
	)
	out.waitFor(t, 15*time.Second, "the due records", func() bool { return len(out.got()) == 2 })
	got := map[string]captured{}
	for _, c := range out.got() {
		got[c.body] = c
	}
	for _, body := range []string{"now-a1", "soon-b0"} {
		c, ok := got[body]
		if !ok {
			t.Fatalf("%s not released; got %v", body, got)
		}
		due, rel := c.meta[meta.RetryDueMs], c.meta[meta.RetryReleasedMs]
		d, _ := strconv.ParseInt(due, 10, 64)
		r, _ := strconv.ParseInt(rel, 10, 64)
		if r < d || c.at.UnixMilli() < d {
			t.Fatalf("%s released at %d before due %d", body, r, d)
		}
		recordLateness(time.Duration(r-d) * time.Millisecond)
		if c.meta["kafka_topic"] == "" || c.meta[meta.RetryAttempt] != "1" {
			t.Fatalf("%s metadata %v", body, c.meta)
		}
	}
	// The hour-long head pins its partition: neither it nor the record
	// behind it may have been released while the others were.
	if _, ok := got["long"]; ok {
		t.Fatal("record released an hour early")
	}
	if _, ok := got["behind-long"]; ok {
		t.Fatal("record overtook the paused head of its partition")
	}
}
