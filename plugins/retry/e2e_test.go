package retry

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/meta"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/profileservice"
)

// e2eConfig wires the main topic and the two retry stages into one stream:
// the same http enrichment, then the router. Stage writes go to Kafka and,
// through a fan-out, to the `stages` sink so the test sees each stage's
// headers.
func e2eConfig(addr, svcURL, group, prefix string) string {
	return fmt.Sprintf(`
input:
  broker:
    inputs:
      - redpanda:
          seed_brokers: [ %[1]s ]
          topics: [ events ]
          consumer_group: %[3]s
          commit_period: 100ms
      - retry_topics:
          seed_brokers: [ %[1]s ]
          topics: [ events-retry-1, events-retry-2 ]
          consumer_group: %[3]s-retry
          commit_period: 100ms
pipeline:
  processors:
    - branch:
        request_map: 'root = this'
        processors:
          - http:
              url: %[2]s/profiles/${! json("user_id") }
              verb: GET
              retries: 0
        result_map: 'root.profile = this'
output:
  retry_router:
    delays: [ 200ms, 400ms ]
    output:
      retry_test_sink: { name: %[4]s-out }
    retry:
      broker:
        pattern: fan_out
        outputs:
          - redpanda:
              seed_brokers: [ %[1]s ]
              topic: ${! @retry_topic }
              key: ${! @retry_key.or("") }
              metadata:
                include_patterns: [ ".*" ]
          - retry_test_sink: { name: %[4]s-stages }
    dlq:
      retry_test_sink: { name: %[4]s-dlq }
`, addr, svcURL, group, prefix)
}

func metaInt(t *testing.T, c captured, key string) int64 {
	t.Helper()
	v, err := strconv.ParseInt(c.meta[key], 10, 64)
	if err != nil {
		t.Fatalf("metadata %s = %q: %v", key, c.meta[key], err)
	}
	return v
}

// checkStages asserts the stage writes and that every following attempt
// (an http call) happened no earlier than the stage's due time.
func checkStages(t *testing.T, stages []captured, calls []time.Time, offset int64) {
	t.Helper()
	if len(calls) != len(stages)+1 {
		t.Fatalf("%d http calls for %d stage writes", len(calls), len(stages))
	}
	for i, s := range stages {
		if got := metaInt(t, s, meta.RetryAttempt); got != int64(i+1) {
			t.Errorf("stage write %d: retry_attempt %d", i+1, got)
		}
		if want := fmt.Sprintf("events-retry-%d", i+1); s.meta[meta.RetryStageTopic] != want {
			t.Errorf("stage write %d: topic %q want %q", i+1, s.meta[meta.RetryStageTopic], want)
		}
		if s.meta[meta.RetryOriginalTopic] != "events" || metaInt(t, s, meta.RetryOriginalPartition) != 0 ||
			metaInt(t, s, meta.RetryOriginalOffset) != offset || metaInt(t, s, meta.RetryOriginalTimestampMs) != 1_600_000_000_000 {
			t.Errorf("stage write %d: original fields %v", i+1, s.meta)
		}
		if s.meta[meta.RetryStageKey] != "k1" || s.meta["trace_id"] != "abc" || s.body != `{"user_id":"u1"}` {
			t.Errorf("stage write %d: key/header/body not preserved: %q %v", i+1, s.body, s.meta)
		}
		if !strings.Contains(s.meta[meta.RetryLastError], "503") {
			t.Errorf("stage write %d: last error %q", i+1, s.meta[meta.RetryLastError])
		}
		if _, leaked := s.meta["kafka_offset"]; leaked {
			t.Errorf("stage write %d: kafka_* metadata leaked into headers", i+1)
		}
		first, last := metaInt(t, s, meta.RetryFirstFailureMs), metaInt(t, s, meta.RetryLastFailureMs)
		due := metaInt(t, s, meta.RetryDueMs)
		delay := []int64{200, 400}[i]
		if first > last || due != last+delay {
			t.Errorf("stage write %d: first %d last %d due %d", i+1, first, last, due)
		}
		next := calls[i+1].UnixMilli()
		if next < due {
			t.Errorf("stage %d released %dms early", i+1, due-next)
		}
		recordLateness(time.Duration(next-due) * time.Millisecond)
	}
}

func TestRetryLadderSucceedsAfterNFailures(t *testing.T) {
	svc, out, stages, dlq := runLadder(t, 2, "ok")
	out.waitFor(t, 20*time.Second, "the enriched event", func() bool { return len(out.got()) == 1 })

	got := out.got()[0]
	if !strings.Contains(got.body, `"name"`) || !strings.Contains(got.body, `"user_id":"u1"`) {
		t.Fatalf("not enriched: %s", got.body)
	}
	if metaInt(t, got, meta.RetryAttempt) != 2 || got.meta["kafka_key"] != "k1" || got.meta["trace_id"] != "abc" {
		t.Fatalf("final message metadata: %v", got.meta)
	}
	if rel, due := metaInt(t, got, meta.RetryReleasedMs), metaInt(t, got, meta.RetryDueMs); rel < due {
		t.Fatalf("released at %d before due %d", rel, due)
	}
	if n := svc.Calls("u1"); n != 3 {
		t.Fatalf("%d http calls, want 3 (2 failures + success)", n)
	}
	checkStages(t, stages.got(), svc.CallTimes("u1"), 0)
	if len(dlq.got()) != 0 {
		t.Fatalf("dlq got %v", dlq.got())
	}
}

func TestRetryLadderExhaustsIntoDLQ(t *testing.T) {
	svc, out, stages, dlq := runLadder(t, 5, "ex")
	dlq.waitFor(t, 20*time.Second, "the dead letter", func() bool { return len(dlq.got()) == 1 })

	d := dlq.got()[0]
	if d.meta["error_class"] != meta.ClassRetriesExhausted || metaInt(t, d, meta.RetryAttempt) != 3 {
		t.Fatalf("dlq metadata: %v", d.meta)
	}
	if d.meta[meta.RetryOriginalTopic] != "events" || metaInt(t, d, meta.RetryOriginalOffset) != 0 ||
		metaInt(t, d, meta.RetryFirstFailureMs) > metaInt(t, d, meta.RetryLastFailureMs) || d.err == nil {
		t.Fatalf("dlq state: %v err=%v", d.meta, d.err)
	}
	if _, ok := d.meta[meta.RetryDueMs]; ok {
		t.Fatalf("dlq record carries a due time")
	}
	if n := svc.Calls("u1"); n != 3 {
		t.Fatalf("%d http calls, want 3", n)
	}
	checkStages(t, stages.got(), svc.CallTimes("u1")[:3], 0)
	if len(out.got()) != 0 {
		t.Fatalf("exhausted event reached the success output")
	}
}

func TestValidationErrorGoesStraightToDLQ(t *testing.T) {
	addr := kafkatest.Cluster(t, 1, "events", "events-retry-1", "events-retry-2")
	out, stages, dlq := newSink(t, "va-out"), newSink(t, "va-stages"), newSink(t, "va-dlq")
	// The http step is replaced by a validation step that classifies its
	// own failure.
	cfg := e2eConfig(addr, "http://127.0.0.1:1", "g-va", "va")
	start, end := strings.Index(cfg, "    - branch:"), strings.Index(cfg, "output:")
	cfg = cfg[:start] + `    - mutation: 'meta error_class = if this.user_id == null { "validation" }'
    - mapping: 'root = if this.user_id == null { throw("user_id missing") } else { this }'
` + cfg[end:]
	kafkatest.RunStream(t, cfg, "warn")
	kafkatest.Produce(t, addr, &kgo.Record{Topic: "events", Value: []byte(`{}`)})
	dlq.waitFor(t, 20*time.Second, "the dead letter", func() bool { return len(dlq.got()) == 1 })
	d := dlq.got()[0]
	if d.meta["error_class"] != meta.ClassValidation || metaInt(t, d, meta.RetryAttempt) != 1 {
		t.Fatalf("dlq metadata: %v", d.meta)
	}
	if len(stages.got())+len(out.got()) != 0 {
		t.Fatalf("validation failure was retried or passed")
	}
}

// runLadder runs the e2e ladder config against a profile service that fails
// the first failFirst calls, and produces one event of user u1 (key k1,
// header trace_id=abc).
func runLadder(t *testing.T, failFirst int, name string) (svc *profileservice.Service, out, stages, dlq *sink) {
	t.Helper()
	addr := kafkatest.Cluster(t, 1, "events", "events-retry-1", "events-retry-2")
	url, svc, stop, err := profileservice.Start("127.0.0.1:0", profileservice.Options{FailFirstN: failFirst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	out, stages, dlq = newSink(t, name+"-out"), newSink(t, name+"-stages"), newSink(t, name+"-dlq")
	kafkatest.RunStream(t, e2eConfig(addr, url, "g-"+name, name), "warn")
	kafkatest.Produce(t, addr, &kgo.Record{
		Topic: "events", Key: []byte("k1"), Value: []byte(`{"user_id":"u1"}`),
		Headers: []kgo.RecordHeader{{Key: "trace_id", Value: []byte("abc")}}, Timestamp: time.UnixMilli(1_600_000_000_000),
	})
	return svc, out, stages, dlq
}
