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

// While the stage write (for a main-topic record) and the DLQ write (for a
// retry-topic record) fail, neither source offset is committed; once the
// writes succeed both are.
func TestFailedStageOrDLQWriteIsNotCommitted(t *testing.T) {
	addr := kafkatest.Cluster(t, 1, "src", "src-retry-1")
	stages, dlq, out := newSink(t, "cm-stages"), newSink(t, "cm-dlq"), newSink(t, "cm-out")
	stages.failing.Store(true)
	dlq.failing.Store(true)
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  broker:
    inputs:
      - redpanda:
          seed_brokers: [ %[1]s ]
          topics: [ src ]
          consumer_group: g-cm
          commit_period: 100ms
      - retry_topics:
          seed_brokers: [ %[1]s ]
          topics: [ src-retry-1 ]
          consumer_group: g-cm-retry
          commit_period: 100ms
pipeline:
  processors:
    - mapping: 'root = throw("always fails")'
output:
  retry_router:
    delays: [ 100ms ]
    output:
      retry_test_sink: { name: cm-out }
    retry:
      retry_test_sink: { name: cm-stages }
    dlq:
      retry_test_sink: { name: cm-dlq }
`, addr), "warn")
	kafkatest.Produce(t, addr,
		&kgo.Record{Topic: "src", Value: []byte("fresh")},
		&kgo.Record{Topic: "src-retry-1", Value: []byte("last-attempt"), Headers: []kgo.RecordHeader{
			{Key: meta.RetryAttempt, Value: []byte("1")},
			{Key: meta.RetryDueMs, Value: []byte(strconv.FormatInt(time.Now().UnixMilli(), 10))},
			{Key: meta.RetryOriginalTopic, Value: []byte("src")},
		}},
	)
	// Each nack is redelivered; three failed writes each prove the
	// router reported the failure instead of acking.
	defer func() { t.Logf("stage attempts %d dlq attempts %d", stages.attempts.Load(), dlq.attempts.Load()) }()
	stages.waitFor(t, 20*time.Second, "3 failed stage writes", func() bool { return stages.attempts.Load() >= 3 })
	dlq.waitFor(t, 20*time.Second, "3 failed dlq writes", func() bool { return dlq.attempts.Load() >= 3 })
	if o := kafkatest.Committed(t, addr, "g-cm", "src", 0); o > 0 {
		t.Fatalf("src committed at %d while its stage write fails", o)
	}
	if o := kafkatest.Committed(t, addr, "g-cm-retry", "src-retry-1", 0); o > 0 {
		t.Fatalf("src-retry-1 committed at %d while its dlq write fails", o)
	}

	stages.failing.Store(false)
	dlq.failing.Store(false)
	stages.waitFor(t, 20*time.Second, "the stage write", func() bool { return len(stages.got()) >= 1 })
	dlq.waitFor(t, 20*time.Second, "the dlq write", func() bool { return len(dlq.got()) >= 1 })
	if c := dlq.got()[0]; c.meta["error_class"] != meta.ClassRetriesExhausted || c.meta[meta.RetryAttempt] != "2" {
		t.Fatalf("dlq metadata %v", c.meta)
	}
	if len(out.got()) != 0 {
		t.Fatal("failed message reached the success output")
	}
	// Commits are asynchronous (commit_period); wait for them by polling
	// the broker's committed offsets.
	for _, c := range []struct{ group, topic string }{{"g-cm", "src"}, {"g-cm-retry", "src-retry-1"}} {
		kafkatest.Eventually(t, 15*time.Second, c.group+"/"+c.topic+" committed after the write succeeded", func() bool {
			return kafkatest.Committed(t, addr, c.group, c.topic, 0) == 1
		})
	}
}
