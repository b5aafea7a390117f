package retry

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/meta"
)

// failingEvents makes three messages on generate: ok, a late event (raw
// bytes stashed, body changed after) and a processing failure.
const failingEvents = `
input:
  generate:
    count: 3
    interval: ""
    mapping: |
      root.n = counter()
      meta kafka_key = "k" + counter().string()
pipeline:
  threads: 1
  processors:
    - mapping: |
        meta "@dlq_raw" = "{\"raw\":" + this.n.string() + "}"
        root = this
        root.enriched = true
    - switch:
        - check: this.n == 2
          processors:
            - mapping: 'meta window_late = "true"'
            - mapping: 'meta error_class = "late"'
            - mapping: 'root = throw("too late for window w")'
        - check: this.n == 3
          processors:
            - mapping: 'root = throw("profile service down")'
`

// The late child gets the late event, with the bytes as read and the error
// text; the dlq child gets nothing.
func TestLateEventsGoToTheLateChildWithTheirOriginalBytes(t *testing.T) {
	late, dlq, stages := newSink(t, "lc-late"), newSink(t, "lc-dlq"), newSink(t, "lc-stages")
	kafkatest.RunStream(t, failingEvents+`
output:
  retry_router:
    delays: [ 1s ]
    topics: [ stage-1 ]
    output: { drop: {} }
    retry: { retry_test_sink: { name: lc-stages } }
    late: { retry_test_sink: { name: lc-late } }
    dlq: { retry_test_sink: { name: lc-dlq } }
`, "warn")
	late.waitFor(t, 10*time.Second, "the late event", func() bool { return len(late.got()) == 1 })
	stages.waitFor(t, 10*time.Second, "the failed event's stage write", func() bool { return len(stages.got()) == 1 })
	got := late.got()[0]
	if got.body != `{"raw":2}` {
		t.Errorf("late body %q, want the stashed raw bytes", got.body)
	}
	if got.meta[meta.ErrorClass] != meta.ClassLate || !strings.Contains(got.meta[meta.TryCatchError], "too late for window w") || got.meta[meta.WindowLate] != "true" {
		t.Errorf("late metadata %v", got.meta)
	}
	if n := len(dlq.got()); n != 0 {
		t.Errorf("dlq got %d messages, want none (the late event has its own child)", n)
	}
}

// Without a late child a late event is dead-lettered as before.
func TestLateEventsGoToDLQWithoutALateChild(t *testing.T) {
	dlq := newSink(t, "nl-dlq")
	kafkatest.RunStream(t, failingEvents+`
output:
  retry_router:
    delays: [ 1s ]
    topics: [ stage-1 ]
    output: { drop: {} }
    retry: { drop: {} }
    dlq: { retry_test_sink: { name: nl-dlq } }
`, "warn")
	dlq.waitFor(t, 10*time.Second, "the late event", func() bool { return len(dlq.got()) == 1 })
	if got := dlq.got()[0]; got.meta[meta.ErrorClass] != meta.ClassLate || !strings.Contains(got.body, `"enriched":true`) {
		t.Errorf("dlq got %q %v, want the late event as it reached the router", got.body, got.meta)
	}
}

// Kafka children name only their topic: the retry child is there by
// default, every child takes the main output's brokers, and the records
// carry the key and headers the contract gives them.
func TestKafkaChildrenTakeTheMainConnectionAndContractDefaults(t *testing.T) {
	addr := kafkatest.Cluster(t, 1, "out", "stage-1", "late", "dlq")
	kafkatest.RunStream(t, failingEvents+fmt.Sprintf(`
output:
  retry_router:
    delays: [ 1s ]
    topics: [ stage-1 ]
    output:
      redpanda:
        seed_brokers: [ %s ]
        topic: out
    late:
      redpanda: { topic: late }
    dlq:
      redpanda: { topic: dlq }
`, addr), "warn")
	if r := kafkatest.ConsumeN(t, addr, "out", 1, 20*time.Second)[0]; !strings.Contains(string(r.Value), `"n":1`) {
		t.Errorf("out got %s", r.Value)
	}
	stage := kafkatest.ConsumeN(t, addr, "stage-1", 1, 20*time.Second)[0]
	h := kafkatest.Headers(stage)
	if string(stage.Key) != "k3" || h[meta.RetryAttempt] != "1" || !strings.Contains(h[meta.RetryLastError], "profile service down") {
		t.Errorf("stage record key %q headers %v, want key k3 and the retry state", stage.Key, h)
	}
	for k := range h {
		if strings.HasPrefix(k, meta.StashPrefix) {
			t.Errorf("stage record has header %q: stashes are not headers", k)
		}
	}
	lr := kafkatest.ConsumeN(t, addr, "late", 1, 20*time.Second)[0]
	lh := kafkatest.Headers(lr)
	if string(lr.Value) != `{"raw":2}` || string(lr.Key) != "k2" || lh[meta.ErrorClass] != meta.ClassLate || lh[meta.WindowLate] != "true" {
		t.Errorf("late record %q key %q headers %v", lr.Value, lr.Key, lh)
	}
	for k := range lh {
		if !strings.HasPrefix(k, meta.WindowPrefix) && !strings.HasPrefix(k, meta.TryCatchError) {
			t.Errorf("late record has header %q; the late child writes window_* and error* only", k)
		}
	}
	if got := kafkatest.Consume(t, addr, "dlq", 1, time.Second); len(got) != 0 {
		t.Errorf("dlq got %d records, want none", len(got))
	}
}

func TestRetryChildRequiredWhenOutputIsNotKafka(t *testing.T) {
	err := buildErr(`
input:
  generate: { mapping: 'root = 1', count: 1 }
output:
  retry_router:
    delays: [ 1s ]
    output: { drop: {} }
    dlq: { drop: {} }
`)
	if err == nil || !strings.Contains(err.Error(), "retry: a redpanda output without seed_brokers") {
		t.Errorf("err %v, want the constructor naming the default retry child", err)
	}
	err = buildErr(`
input:
  generate: { mapping: 'root = 1', count: 1 }
output:
  retry_router:
    delays: [ 1s ]
    output: { drop: {} }
    retry: { drop: {} }
    late: { redpanda: { topic: late } }
    dlq: { drop: {} }
`)
	if err == nil || !strings.Contains(err.Error(), "late: a redpanda output without seed_brokers") {
		t.Errorf("err %v, want the constructor naming the late child", err)
	}
}
