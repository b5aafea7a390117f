package dlq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/metricstest"
)

// flaky is a test output that fails every write until recovered.
type flaky struct {
	mu       sync.Mutex
	failing  bool
	attempts int
	written  []string
	errors   []string      // dlq_error header of each write
	attempt  chan struct{} // signalled on every write attempt
}

var flakies sync.Map

func flakyOutput(id string) *flaky {
	f, _ := flakies.LoadOrStore(id, &flaky{failing: true, attempt: make(chan struct{}, 1000)})
	return f.(*flaky)
}

func init() {
	service.MustRegisterBatchOutput("dlq_test_flaky", service.NewConfigSpec().Field(service.NewStringField("id")),
		func(conf *service.ParsedConfig, _ *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			id, err := conf.FieldString("id")
			return flakyOutput(id), service.BatchPolicy{}, 1, err
		})
}

func (f *flaky) Connect(context.Context) error { return nil }
func (f *flaky) Close(context.Context) error   { return nil }
func (f *flaky) WriteBatch(_ context.Context, b service.MessageBatch) error {
	f.mu.Lock()
	defer func() { f.mu.Unlock(); f.attempt <- struct{}{} }()
	f.attempts++
	if f.failing {
		return errors.New("dlq unavailable")
	}
	for _, m := range b {
		v, _ := m.AsBytes()
		f.written = append(f.written, string(v))
		e, _ := m.MetaGet(HError)
		f.errors = append(f.errors, e)
	}
	return nil
}

func (f *flaky) recover() {
	f.mu.Lock()
	f.failing = false
	f.mu.Unlock()
}

func (f *flaky) snapshot() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.written...)
}

func waitAttempts(t *testing.T, f *flaky, n int) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-f.attempt:
		case <-timeout:
			t.Fatalf("only %d DLQ write attempts", i)
		}
	}
}

func committed(t *testing.T, broker string) int64 {
	t.Helper()
	return kafkatest.Committed(t, broker, "clicks", "events", 0)
}

// TestFailedDLQWriteNeverCommitsTheOffset: with the DLQ down the invalid
// record (offset 1) is nacked and replayed by the redpanda input, the group
// offset stays below 2 however long it lasts; once the DLQ recovers the
// record is dead-lettered and only then is offset 2 committed.
func TestFailedDLQWriteNeverCommitsTheOffset(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "events", "clean")
	good := `{"event_type":"click","user_id":"u1","timestamp":"2024-06-27T15:43:43Z"}`
	kafkatest.Produce(t, broker,
		&kgo.Record{Topic: "events", Value: []byte(good)},
		&kgo.Record{Topic: "events", Value: []byte(badEvent)})
	f := flakyOutput(t.Name())
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  redpanda:
    seed_brokers: [ %[1]s ]
    topics: [ events ]
    consumer_group: clicks
    commit_period: 100ms
pipeline:
  processors:
    - validate:
        schema: "fields: {event_type: {type: enum, values: [click]}, user_id: {type: string}, timestamp: {type: timestamp}}"
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ %[1]s ], topic: clean }
    dlq:
      dead_letter:
        output:
          dlq_test_flaky: { id: %[2]q }
`, broker, t.Name()), logLevel)

	if got := kafkatest.ConsumeN(t, broker, "clean", 1, 20*time.Second); string(got[0].Value) != good {
		t.Fatalf("clean: %s", got[0].Value)
	}
	waitAttempts(t, f, 5) // the same record, nacked and replayed
	// Offset 0 (valid) may be committed; offset 1 must not be.
	// The group offset stays at or below 1 for many commit periods.
	kafkatest.Consistently(t, 500*time.Millisecond, "offset 1 uncommitted while the DLQ write fails", func() bool {
		return committed(t, broker) <= 1
	})
	if w := f.snapshot(); len(w) != 0 {
		t.Fatalf("written while failing: %v", w)
	}

	f.recover()
	kafkatest.Eventually(t, 30*time.Second, "offset 2 committed after recovery", func() bool { return committed(t, broker) == 2 })
	if w := f.snapshot(); len(w) == 0 || w[0] != badEvent {
		t.Fatalf("dead letters %v", w)
	}
}

// TestDLQFailureNacksTheInputMessage observes acks directly with a producer
// func: the invalid message is acknowledged with an error while the DLQ
// fails and successfully once it recovers; the valid one is not affected.
func TestDLQFailureNacksTheInputMessage(t *testing.T) {
	f := flakyOutput(t.Name())
	b := service.NewStreamBuilder()
	if err := b.AddProcessorYAML(`validate: {schema: "fields: {event_type: {type: enum, values: [click]}}"}`); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf(`
route_errors:
  output: { drop: {} }
  dlq:
    dead_letter:
      output: { dlq_test_flaky: { id: %q } }
`, t.Name())); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML(metricstest.YAML(t.Name())); err != nil {
		t.Fatal(err)
	}
	ctx, send := runProducerStream(t, b)

	if err := send(ctx, service.NewMessage([]byte(`{"event_type":"click"}`))); err != nil {
		t.Fatalf("valid message nacked: %v", err)
	}
	bad := []byte(`{"event_type":"nope"}`)
	for i := 0; i < 3; i++ {
		if err := send(ctx, service.NewMessage(bad)); err == nil {
			t.Fatal("acked although the DLQ write failed")
		}
	}
	f.recover()
	if err := send(ctx, service.NewMessage(bad)); err != nil {
		t.Fatalf("nacked after recovery: %v", err)
	}
	if w := f.snapshot(); len(w) != 1 || w[0] != string(bad) {
		t.Fatalf("dead letters %v", w)
	}
	rec := metricstest.Get(t.Name())
	if got := rec.Count("dlq_dead_lettered", "class=validation"); got != 1 {
		t.Errorf("dlq_dead_lettered{class=validation} = %d, want 1", got)
	}
	if got := rec.Count("dlq_write_errors"); got != 3 {
		t.Errorf("dlq_write_errors = %d, want 3", got)
	}
}

// TestStrictModeRoutesCaughtErrors: under error_handling.strict an errored
// message never reaches an output, so the documented pattern is try_catch;
// route_errors recognises the caught error and dead_letter takes the error
// text from try_catch's @error object.
func TestStrictModeRoutesCaughtErrors(t *testing.T) {
	f := flakyOutput(t.Name())
	f.recover()
	b := service.NewStreamBuilder()
	b.SetStrict(true)
	if err := b.AddProcessorYAML(`
try_catch:
  processors:
    - validate: {schema: "fields: {event_type: {type: enum, values: [click]}}"}
`); err != nil {
		t.Fatal(err)
	}
	if err := b.AddOutputYAML(fmt.Sprintf(`
route_errors:
  output: { drop: {} }
  dlq: { dead_letter: { output: { dlq_test_flaky: { id: %q } } } }
`, t.Name())); err != nil {
		t.Fatal(err)
	}
	ctx, send := runProducerStream(t, b)
	for _, p := range []string{`{"event_type":"click"}`, `{"event_type":"nope"}`} {
		if err := send(ctx, service.NewMessage([]byte(p))); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.written) != 1 || f.written[0] != `{"event_type":"nope"}` || !strings.HasPrefix(f.errors[0], "event_type: not one of click") {
		t.Fatalf("dead letters %v errors %v", f.written, f.errors)
	}
}

func TestRouteErrorsIsLintChecked(t *testing.T) {
	b := service.NewStreamBuilder()
	err := b.AddOutputYAML(`route_errors: { output: { drop: {} }, dql: { drop: {} } }`)
	if err == nil || !strings.Contains(err.Error(), "dql") {
		t.Fatalf("misspelt field accepted: %v", err)
	}
	err = b.AddOutputYAML(`dead_letter: { header_dialect: avro, output: { drop: {} } }`)
	if err == nil || !strings.Contains(err.Error(), "avro") {
		t.Fatalf("unknown dialect accepted: %v", err)
	}
}

// runProducerStream adds a producer to b, runs the stream until the test
// ends (30s at most) and returns its context and the producer.
func runProducerStream(t *testing.T, b *service.StreamBuilder) (context.Context, service.MessageHandlerFunc) {
	t.Helper()
	send, err := b.AddProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	_ = b.SetLoggerYAML("level: none")
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	go func() { _ = s.Run(ctx) }()
	t.Cleanup(func() {
		_ = s.StopWithin(5 * time.Second)
		cancel()
	})
	return ctx, send
}
