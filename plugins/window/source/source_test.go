package source_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/streamkit/pipeline/internal/kafkatest"
	_ "github.com/streamkit/pipeline/plugins/window"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

const topic = "ev"

var base = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// cluster starts an in-process broker with topic ev in parts partitions.
func cluster(t *testing.T, parts int32) string {
	t.Helper()
	return kafkatest.Cluster(t, parts, topic)
}

type event struct {
	User string `json:"user"`
	TS   string `json:"ts"`
}

// events are n events of users u0..u(users-1), 100 ms of event time apart
// starting at from, a user's events keyed by the user (one partition each).
func events(from, n, users int) []event {
	out := make([]event, n)
	for i := range out {
		k := from + i
		out[i] = event{User: fmt.Sprintf("u%d", k%users), TS: base.Add(time.Duration(k) * 100 * time.Millisecond).Format(time.RFC3339Nano)}
	}
	return out
}

// produce writes evs to ev keyed by user, partitioned as a Kafka producer
// does (by key hash).
func produce(t *testing.T, addr string, evs []event) {
	t.Helper()
	rs := make([]*kgo.Record, len(evs))
	for i, e := range evs {
		b, _ := json.Marshal(e)
		rs[i] = &kgo.Record{Key: []byte(e.User), Value: b}
	}
	kafkatest.ProduceByKey(t, addr, topic, rs...)
}

// expected is the 10 s tumbling count per window id of evs.
func expected(evs []event) map[string]int {
	out := map[string]int{}
	for _, e := range evs {
		ts, _ := time.Parse(time.RFC3339Nano, e.TS)
		start := ts.Truncate(10 * time.Second)
		id := e.User + "|" + start.Format(time.RFC3339Nano) + "|" + start.Add(10*time.Second).Format(time.RFC3339Nano)
		out[id]++
	}
	return out
}

// results collects window results by id, keeping every record's bytes.
type results struct {
	mu   sync.Mutex
	byID map[string][]string
}

func (r *results) add(id, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[string][]string{}
	}
	r.byID[id] = append(r.byID[id], body)
}

func (r *results) windows() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byID)
}

// check compares the results with want: every window once with its exact
// count, re-emissions byte-identical, nothing else.
func (r *results) check(t *testing.T, want map[string]int) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var problems []string
	for id, n := range want {
		recs := r.byID[id]
		if len(recs) == 0 {
			problems = append(problems, "missing "+id)
			continue
		}
		var body struct {
			Events int `json:"events"`
		}
		if err := json.Unmarshal([]byte(recs[0]), &body); err != nil || body.Events != n {
			problems = append(problems, fmt.Sprintf("%s: %s, want events %d", id, recs[0], n))
		}
		for _, rec := range recs[1:] {
			if rec != recs[0] {
				problems = append(problems, fmt.Sprintf("%s re-emitted differently: %s vs %s", id, recs[0], rec))
			}
		}
	}
	for id := range r.byID {
		if _, ok := want[id]; !ok {
			problems = append(problems, "unexpected "+id)
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Fatalf("%d problems:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// startJob runs window_kafka -> window buffer -> r in-process.
func startJob(t *testing.T, addr, group, idle string, r *results) func() {
	t.Helper()
	return startJobWith(t, addr, group, idle, "", r)
}

// startJobWith is startJob with more window_kafka fields (YAML lines).
func startJobWith(t *testing.T, addr, group, idle, inputFields string, r *results) func() {
	t.Helper()
	sb := service.NewStreamBuilder()
	if err := sb.SetLoggerYAML("level: warn"); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddInputYAML(fmt.Sprintf(`
window_kafka:
  seed_brokers: [ %q ]
  topics: [ %s ]
  consumer_group: %s
  commit_period: 50ms
  session_timeout: 6s
  max_batch_records: 7
%s`, addr, topic, group, inputFields)); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetBufferYAML(fmt.Sprintf(`
window:
  timestamp_field: ts
  allowed_lateness: 1s
  idle_timeout: %s
  windows:
    - { name: t10, type: tumbling, size: 10s, key_field: user, key_name: user,
        aggregates: [ { name: events, type: count } ] }
`, idle)); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddBatchConsumerFunc(func(_ context.Context, b service.MessageBatch) error {
		for _, m := range b {
			if err := m.GetError(); err != nil {
				return fmt.Errorf("unexpected errored message: %w", err)
			}
			id, _ := m.MetaGet("window_id")
			body, _ := m.AsBytes()
			r.add(id, string(body))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := s.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
			<-done
		})
	}
	t.Cleanup(stop)
	return stop
}

// A graceful stop in the middle of windows emits nothing half-full, and the
// next run completes them: every window exactly once, re-emissions (from the
// replay of the committed offset) byte-identical.
func TestStopAndResumeIsExact(t *testing.T) {
	addr := cluster(t, 3)
	first, second := events(0, 450, 10), events(450, 450, 10)
	produce(t, addr, first)

	var r results
	stop := startJob(t, addr, "g1", "1h", &r)
	// 45 s of event time in each partition: windows up to [30 s, 40 s)
	// close (40 s + 1 s lateness reached); [40 s, 50 s) stays open.
	kafkatest.Eventually(t, 20*time.Second, "the first windows", func() bool { return r.windows() >= 40 })
	stop()
	n1 := r.windows()
	if n1 != 40 {
		// 4 closed windows per user, no more (the 5th is open)
		t.Fatalf("first run emitted %d windows, want 40 (no half-full window on stop)", n1)
	}
	resumes := committedResumes(t, addr, "g1")
	for p, rs := range resumes {
		if rs.Watermark == partition.NoWatermark {
			t.Fatalf("partition %d committed without a watermark: %+v", p, rs)
		}
	}

	produce(t, addr, second)
	startJob(t, addr, "g1", "500ms", &r)
	want := expected(append(first, second...))
	kafkatest.Eventually(t, 30*time.Second, "every window", func() bool { return r.windows() >= len(want) })
	r.check(t, want)
}

func committedResumes(t *testing.T, addr, group string) map[int32]partition.Resume {
	t.Helper()
	offs := kafkatest.FetchOffsets(t, addr, group)
	out := map[int32]partition.Resume{}
	offs.Each(func(o kadm.OffsetResponse) {
		r, err := partition.DecodeResume(o.Metadata)
		if err != nil {
			t.Fatalf("partition %d: %v", o.Partition, err)
		}
		out[o.Partition] = r
	})
	if len(out) == 0 {
		t.Fatal("nothing committed")
	}
	return out
}

// Instances joining and leaving one consumer group mid-window: a revoked
// partition's state is dropped without emitting and its new owner replays
// it from the committed offset, so every window is still emitted exactly
// once over the group (re-emissions byte-identical).
func TestRebalanceIsExact(t *testing.T) {
	addr := cluster(t, 6)
	all := events(0, 1200, 24)
	produce(t, addr, all[:400])

	var r results
	stopA := startJob(t, addr, "g2", "1h", &r)
	kafkatest.Eventually(t, 20*time.Second, "the first windows of A", func() bool { return r.windows() > 0 })
	stopB := startJob(t, addr, "g2", "1h", &r) // 1 -> 2: A hands partitions to B
	produce(t, addr, all[400:800])
	startJob(t, addr, "g2", "500ms", &r) // 2 -> 3
	produce(t, addr, all[800:1000])
	stopA() // 3 -> 2
	produce(t, addr, all[1000:])
	stopB() // 2 -> 1
	want := expected(all)
	kafkatest.Eventually(t, 60*time.Second, "every window", func() bool { return r.windows() >= len(want) })
	r.check(t, want)
}

// heldOutput is an output that keeps up to 64 batches in flight and
// acknowledges one only when the test releases it.
type heldOutput struct {
	mu      sync.Mutex
	held    int // records in WriteBatch calls not yet released
	maxHeld int
	seen    int
	release chan struct{}
}

func (o *heldOutput) Connect(context.Context) error { return nil }
func (o *heldOutput) Close(context.Context) error   { return nil }
func (o *heldOutput) WriteBatch(ctx context.Context, b service.MessageBatch) error {
	o.mu.Lock()
	o.held += len(b)
	o.seen += len(b)
	o.maxHeld = max(o.maxHeld, o.held)
	o.mu.Unlock()
	select {
	case <-o.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	o.mu.Lock()
	o.held -= len(b)
	o.mu.Unlock()
	return nil
}

func (o *heldOutput) state() (held, maxHeld, seen int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.held, o.maxHeld, o.seen
}

var held = &heldOutput{release: make(chan struct{})}

func init() {
	service.MustRegisterBatchOutput("held_test_output", service.NewConfigSpec(),
		func(*service.ParsedConfig, *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			return held, service.BatchPolicy{}, 64, nil
		})
}

// Without the window buffer a batch is acknowledged when the output has
// written it. An output that holds what it gets (64 batches may be in
// flight) never holds more than max_unacked_records, and every record still
// goes through as the output releases batches one by one.
func TestUnackedRecordsAreBounded(t *testing.T) {
	addr := cluster(t, 1)
	const n, bound = 200, 30
	produce(t, addr, events(0, n, 4))
	sb := service.NewStreamBuilder()
	if err := sb.SetLoggerYAML("level: warn"); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddInputYAML(fmt.Sprintf(`
window_kafka:
  seed_brokers: [ %q ]
  topics: [ %s ]
  consumer_group: bounded
  max_batch_records: 10
  max_unacked_records: %d
`, addr, topic, bound)); err != nil {
		t.Fatal(err)
	}
	if err := sb.AddOutputYAML(`held_test_output: {}`); err != nil {
		t.Fatal(err)
	}
	s, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Run(ctx) }()
	for {
		// The output holds everything: reading stops at the bound.
		kafkatest.Eventually(t, 20*time.Second, "the output to hold the bound or everything", func() bool {
			h, _, seen := held.state()
			return h >= bound || seen == n
		})
		if _, _, seen := held.state(); seen == n {
			break
		}
		held.release <- struct{}{}
	}
	if _, maxHeld, _ := held.state(); maxHeld > bound {
		t.Fatalf("the output held %d records at once, above max_unacked_records %d", maxHeld, bound)
	}
	close(held.release)
}
