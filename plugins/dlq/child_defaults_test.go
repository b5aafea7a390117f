package dlq

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/meta"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A dead_letter child that names only its topic writes the same record as
// the fully written one: brokers from route_errors' output, key, timestamp
// and headers from the contract.
func TestDeadLetterChildNamesOnlyItsTopic(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "events", "clean", "dlq")
	origTS := time.UnixMilli(1719503023315)
	kafkatest.Produce(t, broker, &kgo.Record{Topic: "events", Key: []byte("user-1"), Value: []byte(badEvent), Timestamp: origTS,
		Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}}})
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  redpanda:
    seed_brokers: [ %[1]s ]
    topics: [ events ]
    consumer_group: clicks
pipeline:
  processors:
    - label: check_event
      validate:
        schema: |
          fields:
            event_type: {type: enum, values: [page_view, click]}
            user_id: {type: string}
            timestamp: {type: timestamp}
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ %[1]s ], topic: clean }
    dlq:
      dead_letter:
        pipeline: clickstream
        output:
          redpanda: { topic: dlq }
`, broker), "none")
	got := kafkatest.ConsumeN(t, broker, "dlq", 1, 20*time.Second)[0]
	if string(got.Value) != badEvent || string(got.Key) != "user-1" || !got.Timestamp.Equal(origTS) {
		t.Fatalf("record value %q key %q ts %v, want the original record's", got.Value, got.Key, got.Timestamp)
	}
	h := kafkatest.Headers(got)
	if h["trace"] != "abc" || h[HClass] != meta.ClassValidation || h[HTopic] != "events" {
		t.Errorf("headers %v, want the original header and the envelope", h)
	}
	for k := range h {
		if strings.HasPrefix(k, meta.StashPrefix) {
			t.Errorf("header %q is a stash", k)
		}
	}
}

// A Kafka child without brokers under a non-Kafka output is an error that
// names the field, not a failure at the first write.
func TestRouteErrorsNamesAKafkaChildWithoutBrokers(t *testing.T) {
	err := buildStreamErr(`
input:
  generate: { mapping: 'root = 1', count: 1 }
output:
  route_errors:
    output: { drop: {} }
    dlq:
      dead_letter:
        output:
          redpanda: { topic: dlq }
`)
	if err == nil || !strings.Contains(err.Error(), "dlq: a redpanda output without seed_brokers") {
		t.Errorf("err %v, want it to name the dlq field", err)
	}
}

// buildStreamErr returns the lint error of a config or else the error its
// stream ends with (a valid config runs its generated message and ends).
func buildStreamErr(yaml string) error {
	b := service.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
		return err
	}
	if err := b.SetLoggerYAML("level: none"); err != nil {
		return err
	}
	s, err := b.Build()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Run(ctx)
}

// route_errors with a late child and a plain Kafka dlq child, both naming
// only their topic: late events go to late as read, the other failures to
// dlq as read, each under the original key with the error as a header.
func TestRouteErrorsLateAndKafkaDLQChildren(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "out", "late", "dlq")
	kafkatest.RunStream(t, fmt.Sprintf(`
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
            - mapping: 'root = throw("too late")'
        - check: this.n == 3
          processors:
            - mapping: 'meta error_class = "validation"'
            - mapping: 'root = throw("not an event")'
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ %s ], topic: out }
    late:
      redpanda: { topic: late }
    dlq:
      redpanda: { topic: dlq }
`, broker), "none")
	if r := kafkatest.ConsumeN(t, broker, "out", 1, 20*time.Second)[0]; !strings.Contains(string(r.Value), `"enriched":true`) {
		t.Errorf("out got %s", r.Value)
	}
	for _, c := range []struct {
		topic, value, key string
		headers           []string
	}{
		{"late", `{"raw":2}`, "k2", []string{meta.ErrorClass, meta.TryCatchError, meta.WindowLate}},
		{"dlq", `{"raw":3}`, "k3", []string{meta.ErrorClass, meta.TryCatchError}},
	} {
		r := kafkatest.ConsumeExactly(t, broker, c.topic, 1, 20*time.Second)[0]
		h := kafkatest.Headers(r)
		var keys []string
		for k := range h {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Sort(c.headers)
		if string(r.Value) != c.value || string(r.Key) != c.key || !slices.Equal(keys, c.headers) || h[meta.TryCatchError] == "" {
			t.Errorf("%s record %s key %s headers %v, want %s key %s headers %v", c.topic, r.Value, r.Key, h, c.value, c.key, c.headers)
		}
	}
}

// The cases of route_errors' switch output lend each other the brokers
// written once, in the first case that names them.
func TestRouteErrorsSwitchCasesShareTheBrokers(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "alerts", "stats")
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  generate: { count: 2, interval: "", mapping: 'root.n = counter()' }
output:
  route_errors:
    output:
      switch:
        cases:
          - check: this.n == 1
            output: { redpanda: { seed_brokers: [ %s ], topic: alerts } }
          - output: { redpanda: { topic: stats } }
    dlq: { drop: {} }
`, broker), "none")
	for topic, want := range map[string]string{"alerts": `{"n":1}`, "stats": `{"n":2}`} {
		if r := kafkatest.ConsumeExactly(t, broker, topic, 1, 20*time.Second)[0]; string(r.Value) != want {
			t.Errorf("%s got %s, want %s", topic, r.Value, want)
		}
	}
}

// A dead_letter alone has nobody to lend it brokers: a Kafka child
// without them is an error naming the field, not a failure at the first
// write.
func TestDeadLetterAloneNeedsBrokers(t *testing.T) {
	err := buildStreamErr(`
input:
  generate: { mapping: 'root = 1', count: 1 }
output:
  dead_letter:
    output:
      redpanda: { topic: dlq }
`)
	if err == nil || !strings.Contains(err.Error(), "output: a redpanda output without seed_brokers, and a dead_letter takes them only from") {
		t.Errorf("err %v, want it to name the output field", err)
	}
}
