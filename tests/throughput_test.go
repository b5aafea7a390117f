package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestClickstreamMovesHalfAMillionRecords guards against input settings that
// starve the pipeline: with the redpanda input's defaults these 500k records
// took ~60s to pass a plain parse-and-forward job here, with the settings in
// the config they take seconds. The deadline is generous: it fails on a
// stall, not on a slow machine. Throughput numbers live in the benchmarks.
func TestClickstreamMovesHalfAMillionRecords(t *testing.T) {
	const n = 500_000
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 3, "clickstream")
	base := time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		u := fmt.Sprintf("user-%d", i%1000)
		// 100s of event time: 10 tumbling windows per user.
		recs[i] = harness.KV(u, event(u, "page_view", base.Add(time.Duration(i)*200*time.Microsecond)))
	}
	harness.Produce(t, addr, "clickstream", recs...)
	recs = nil

	start := time.Now()
	// A 1s idle timeout would call a partition idle while the consumer is
	// busy with the others, and its backlog late: 5s is safe here.
	runClickstream(t, addr, "PIPELINE_LOG_WINDOWS=false", "WINDOW_IDLE_TIMEOUT=5s")
	// Every event is counted in a window or, when its profile call timed
	// out under load and its retry came back after the watermark moved on,
	// routed to clickstream-late. Lost events would leave the sum short.
	var counted, late int
	kafkatest.Every(60*time.Second, time.Millisecond, func() bool {
		counted = tenSecondEvents(decodeResults(t, harness.Consume(t, addr, "user_stats", 11*1000, 3*time.Second)))
		late = len(harness.Consume(t, addr, "clickstream-late", n-counted, 3*time.Second))
		return counted+late >= n
	})
	elapsed := time.Since(start)
	if counted+late != n {
		t.Fatalf("%d events counted in windows and %d late within 60s, want %d in all", counted, late, n)
	}
	t.Logf("500k events through configs/clickstream.yaml in %v (%.0f events/s, including start-up and the 5s idle close); %d late", elapsed, n/elapsed.Seconds(), late)
}
