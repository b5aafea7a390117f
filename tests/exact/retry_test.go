package exact

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/streamkit/pipeline/tests/harness"
)

// retryJob is the scenarios' job with the main job's failure handling: an
// enrichment call per event to a profile service that fails, the retry
// ladder (retry_router to events-retry-1..3, 1 s each, read back by
// retry_topics into the same window stage), late events to `late` and
// exhausted retries to `dlq`. allowed_lateness (60 s of event time, 6 s of
// wall time at Speed) covers the ladder, so a retried event is never late.
const retryJob = `
http:
  address: ${PIPELINE_HTTP_ADDRESS}

input:
  broker:
    inputs:
      - window_kafka:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events ]
          consumer_group: exact
          instance_id: ${INSTANCE_ID:}
          session_timeout: 10s
      - retry_topics:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events-retry-1, events-retry-2, events-retry-3 ]
          consumer_group: exact-retry
          instance_id: ${INSTANCE_ID:}
        processors:
          - mapping: |
              meta kafka_topic = @retry_original_topic
              meta kafka_partition = @retry_original_partition
              meta kafka_offset = deleted()
  processors:
    # The late and dead-letter routes write the event as it was read.
    - dlq_keep_raw: {}
    - switch:
        - check: '!errored()'
          processors:
            - branch:
                request_map: 'root.user = this.user'
                processors:
                  - http:
                      url: ${PROFILE_URL}/profiles/${! json("user").escape_url_query() }
                      verb: GET
                      timeout: 2s
                      retries: 0
                result_map: 'root.segment = this.segment'

buffer:
  window:
    timestamp_field: ts
    allowed_lateness: 60s
    idle_timeout: 3s
    windows:
      - { name: t10, type: tumbling, size: 10s, key_field: user, key_name: user, name_field: window,
          aggregates: [ { name: events, type: count }, { name: pages, type: count_distinct, field: page } ] }
      - { name: s30, type: session, gap: 30s, key_field: user, key_name: user, name_field: window,
          aggregates: [ { name: events, type: count } ] }

output:
  retry_router:
    delays: [ 1s, 1s, 1s ]
    output:
      redpanda: { seed_brokers: [ "${KAFKA_BROKERS}" ], topic: results, key: '${! @window_id }' }
    retry:
      redpanda:
        seed_brokers: [ "${KAFKA_BROKERS}" ]
        topic: '${! @retry_topic }'
        key: '${! @retry_key.or("") }'
        metadata: { include_patterns: [ '^[^@]' ] }
    dlq:
      switch:
        cases:
          - check: '@error_class == "late"'
            output:
              redpanda: { seed_brokers: [ "${KAFKA_BROKERS}" ], topic: late, key: '${! @kafka_key }' }
              processors:
                - mapping: 'root = metadata("@dlq_raw").or(content())'
          - output:
              redpanda:
                seed_brokers: [ "${KAFKA_BROKERS}" ]
                topic: dlq
                key: '${! @kafka_key.or("") }'
                metadata: { include_patterns: [ '^[^@]' ] }
              processors:
                - mapping: 'root = metadata("@dlq_raw").or(content())'
`

// runRetryScenario produces ShortData(11) through retryJob, killing the
// instance (SIGKILL, restart at once) at each point of event time in kills.
func runRetryScenario(t *testing.T, name string, kills []time.Duration) {
	e := NewEnv(t, WindowKafka, ShortData(11))
	harness.CreateTopics(t, e.Broker.Addr, 3, "events-retry-1", "events-retry-2", "events-retry-3", "dlq")
	if err := os.WriteFile(e.config, []byte(retryJob), 0o644); err != nil {
		t.Fatal(err)
	}
	profiles := httptest.NewServer(profileservice.New(profileservice.Options{FailRate: 0.2, Seed: 11}))
	t.Cleanup(profiles.Close)
	in := e.Instance("exact-0")
	in.env = append(in.env, "PROFILE_URL="+profiles.URL)
	in.Start()

	p := e.Produce()
	for _, at := range kills {
		p.WaitSent(at)
		in.Kill()
		t.Logf("SIGKILL at %v of event time, %d events sent", at, p.Sent())
		in.Restart(false)
	}
	p.Wait()

	e.ExpectWithoutDeadLetters("dlq")
	e.Verify(name, VerifyOptions{})
}

// ExpectWithoutDeadLetters reads the dead-letter topic once the job is done
// and recomputes the reference without the events there: an event whose
// enrichment failed on every attempt is in no window. Every dead letter
// must be of class retries_exhausted.
func (e *Env) ExpectWithoutDeadLetters(topic string) {
	t := e.t
	t.Helper()
	dead := Collect(t, e.Broker.Addr, topic, CollectOptions{Quiet: 8 * time.Second, GiveUp: 8 * time.Second, Deadline: time.Minute})
	gone := map[string]bool{}
	for _, r := range dead {
		if c := harness.Header(r, "error_class"); c != "retries_exhausted" {
			t.Errorf("dead letter of class %q (only retries_exhausted expected): %s", c, r.Value)
		}
		var ev struct {
			User string `json:"user"`
			TS   string `json:"ts"`
		}
		if err := json.Unmarshal(r.Value, &ev); err != nil {
			t.Fatalf("dead letter is not an event: %s", r.Value)
		}
		gone[ev.User+"|"+ev.TS] = true
		t.Logf("dead letter: %s (partition %s, offset %s)", r.Value, harness.Header(r, "retry_original_partition"), harness.Header(r, "retry_original_offset"))
	}
	var kept []Event
	for _, ev := range e.Data.Events {
		if !gone[ev.User+"|"+ev.TS.Format(TSLayout)] {
			kept = append(kept, ev)
		}
	}
	e.Expected = Reference(kept)
	t.Logf("%d dead letters (%d distinct events) after the ladder", len(dead), len(gone))
}
