package source

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// records are n records of partition 2 from offset 100, two per millisecond,
// with a tombstone at index 3 and a header on index 5.
func records(n int) []*kgo.Record {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]*kgo.Record, n)
	for i := range out {
		r := &kgo.Record{Topic: "clicks", Partition: 2, Offset: int64(100 + i),
			Key: fmt.Appendf(nil, "user-%d", i), Value: fmt.Appendf(nil, `{"user_id":"user-%d"}`, i),
			Timestamp: at.Add(time.Duration(i/2) * time.Millisecond)}
		if i == 3 {
			r.Value = nil
		}
		if i == 5 {
			r.Headers = []kgo.RecordHeader{{Key: "trace", Value: []byte("t-5")}}
		}
		out[i] = r
	}
	return out
}

func TestToMessagesMetadata(t *testing.T) {
	recs := records(8)
	p := partition.NewPartition("clicks", 2, partition.Fresh, 100, nil)
	p.Fetched(120) // lag after delivering 100..107: 12
	b := p.NewBatch(100, 107, nil)
	msgs := toMessages(recs, b)
	if len(msgs) != len(recs) {
		t.Fatalf("%d messages for %d records", len(msgs), len(recs))
	}
	for i, msg := range msgs {
		r := recs[i]
		body, err := msg.AsBytes()
		if err != nil || string(body) != string(r.Value) {
			t.Errorf("message %d: body %q (%v), want %q", i, body, err, r.Value)
		}
		want := map[string]string{
			"kafka_key": string(r.Key), "kafka_topic": "clicks", "kafka_partition": "2",
			"kafka_offset":         fmt.Sprint(r.Offset),
			"kafka_timestamp_unix": fmt.Sprint(r.Timestamp.Unix()), "kafka_timestamp_ms": fmt.Sprint(r.Timestamp.UnixMilli()),
			"kafka_tombstone_message": fmt.Sprint(r.Value == nil), "kafka_lag": "12",
		}
		if i == 5 {
			want["trace"] = "t-5"
		}
		got := map[string]string{}
		_ = msg.MetaWalk(func(k, v string) error {
			if k != partition.MetaKey {
				got[k] = v
			}
			return nil
		})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("message %d metadata:\n got %v\nwant %v", i, got, want)
		}
		if v, ok := msg.MetaGetMut(partition.MetaKey); !ok || v.(*partition.Batch) != b {
			t.Errorf("message %d: source batch %v, want %p", i, v, b)
		}
	}
	// Each message owns its metadata: changing one leaves the others alone.
	msgs[0].MetaSetMut("kafka_topic", "changed")
	if v, _ := msgs[1].MetaGet("kafka_topic"); v != "clicks" {
		t.Errorf("a change to message 0's metadata reached message 1: %q", v)
	}
}

func TestToMessagesUnknownLag(t *testing.T) {
	p := partition.NewPartition("clicks", 2, partition.Fresh, 100, nil) // no fetch yet: lag unknown
	msgs := toMessages(records(2), p.NewBatch(100, 101, nil))
	if _, ok := msgs[0].MetaGet("kafka_lag"); ok {
		t.Error("kafka_lag set although the high watermark is unknown")
	}
}

func BenchmarkToMessages(b *testing.B) {
	recs := records(4000)
	p := partition.NewPartition("clicks", 2, partition.Fresh, 100, nil)
	p.Fetched(10000)
	sb := p.NewBatch(100, 4099, nil)
	b.ReportAllocs()
	for b.Loop() {
		toMessages(recs, sb)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
}
