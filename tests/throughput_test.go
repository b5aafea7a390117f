package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClickstreamMovesHalfAMillionRecords guards against the redpanda
// input's stall on a single broker (full 1MB partition buffers waiting out a
// 5s long poll took ~88s for these 500k records). The deadline is generous:
// it fails on the stall, not on a slow machine.
func TestClickstreamMovesHalfAMillionRecords(t *testing.T) {
	const n = 500_000
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 3, "clickstream", "clickstream-events", "clickstream-dlq")
	now := time.Now()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		u := fmt.Sprintf("user-%d", i%1000)
		recs[i] = harness.KV(u, event(u, "page_view", now.Add(time.Duration(i)*time.Microsecond)))
	}
	harness.Produce(t, addr, "clickstream", recs...)
	recs = nil

	start := time.Now()
	runClickstream(t, addr, "PIPELINE_EVENT_LOG_LEVEL=TRACE")
	got := harness.Consume(t, addr, "clickstream-events", n, 60*time.Second)
	elapsed := time.Since(start)
	if len(got) != n {
		t.Fatalf("%d of %d records arrived within 60s", len(got), n)
	}
	t.Logf("500k records through configs/clickstream.yaml in %v (%.0f records/s, including start-up)", elapsed, n/elapsed.Seconds())
}
