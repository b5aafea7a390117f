package window

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

// fakeClock is the injected wall clock of buffer tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newTestBuffer(t *testing.T, yaml string, clock *fakeClock) *windowBuffer {
	t.Helper()
	conf, err := bufferSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseOptions(conf)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBuffer(o, service.MockResources(), clock.Now, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func batchOf(docs ...string) service.MessageBatch {
	var b service.MessageBatch
	for _, d := range docs {
		b = append(b, service.NewMessage([]byte(d)))
	}
	return b
}

// ackRecorder is an input ack func that records its calls.
type ackRecorder struct {
	calls atomic.Int32
	err   atomic.Pointer[error]
}

func (a *ackRecorder) fn(_ context.Context, err error) error {
	a.calls.Add(1)
	a.err.Store(&err)
	return nil
}

func (a *ackRecorder) result() (int32, error) {
	if p := a.err.Load(); p != nil {
		return a.calls.Load(), *p
	}
	return a.calls.Load(), nil
}

// readNow reads a batch that must already be queued.
func readNow(t *testing.T, b *windowBuffer) (service.MessageBatch, service.AckFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	batch, ack, err := b.ReadBatch(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return batch, ack
}

func queued(b *windowBuffer) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// basicYAML turns the startup grace off: these tests are about closing by
// event time and acks with a clock that only moves when told to (the grace
// has its own test, TestBufferStartupGraceCountsBacklogOfEveryPartition).
const basicYAML = `
timestamp_field: ts
startup_grace: 0s
windows:
  - name: w10
    size: 10s
    key_field: user
    key_name: user
    aggregates:
      - { name: n, type: count }
      - { name: by_type, type: count_by, field: type }
`

func TestBufferAcksInputOnlyAfterEmissionAcked(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, basicYAML, clk)
	var a1, a2 ackRecorder
	ctx := context.Background()
	if err := b.WriteBatch(ctx, batchOf(
		`{"user":"u1","ts":"2024-01-01T00:00:01Z","type":"click"}`,
		`{"user":"u1","ts":"2024-01-01T00:00:02.5","type":"view"}`,
	), a1.fn); err != nil {
		t.Fatal(err)
	}
	if queued(b) != 0 {
		t.Fatal("window emitted before it closed")
	}
	if err := b.WriteBatch(ctx, batchOf(`{"user":"u2","ts":1704067210,"type":"view"}`), a2.fn); err != nil {
		t.Fatal(err)
	}
	batch, ack := readNow(t, b)
	if len(batch) != 1 {
		t.Fatalf("batch of %d", len(batch))
	}
	body, _ := batch[0].AsBytes()
	if want := `{"user":"u1","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:10Z","n":2,"by_type":{"click":1,"view":1}}`; string(body) != want {
		t.Fatalf("body %s\nwant %s", body, want)
	}
	for k, want := range map[string]string{
		"window_name": "w10", "window_type": "tumbling", "window_key": "u1", "window_events": "2",
		"window_start": "2024-01-01T00:00:00Z", "window_end": "2024-01-01T00:00:10Z", "window_emit": "final",
		"window_id": "u1|2024-01-01T00:00:00Z|2024-01-01T00:00:10Z",
	} {
		if v, _ := batch[0].MetaGet(k); v != want {
			t.Errorf("meta %s = %q, want %q", k, v, want)
		}
	}
	if n, _ := a1.result(); n != 0 {
		t.Fatal("input acked before its window's emission was acked")
	}
	if err := ack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := a1.result(); n != 1 || err != nil {
		t.Fatalf("input ack: %d calls, err %v", n, err)
	}
	// The second input's window is still open: Close nacks it.
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := a2.result(); n != 1 || !errors.Is(err, errShutdown) {
		t.Fatalf("open window input on close: %d calls, err %v", n, err)
	}
}

func TestBufferFailedEmissionNacksInputs(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, basicYAML, clk)
	var a1 ackRecorder
	ctx := context.Background()
	_ = b.WriteBatch(ctx, batchOf(`{"user":"u1","ts":"2024-01-01T00:00:01Z"}`, `{"user":"u1","ts":"2024-01-01T00:00:11Z"}`), a1.fn)
	_, ack := readNow(t, b)
	_ = ack(ctx, errors.New("broker down"))
	// The same input also sits in the open [10,20) window.
	b.EndOfInput()
	_, ack = readNow(t, b)
	_ = ack(ctx, nil)
	if n, err := a1.result(); n != 1 || err == nil || err.Error() != "broker down" {
		t.Fatalf("ack %d %v", n, err)
	}
	if _, _, err := b.ReadBatch(ctx); !errors.Is(err, service.ErrEndOfBuffer) {
		t.Fatalf("after end of input: %v", err)
	}
}

func TestBufferPassThroughErroredLateAndInvalid(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, `
timestamp_field: ts
allowed_lateness: 2s
startup_grace: 0s
windows:
  - name: w10
    size: 10s
    key_field: user
    check: 'this.type != "skip"'
`, clk)
	ctx := context.Background()
	var a1, a2 ackRecorder
	pre := service.NewMessage([]byte(`{"user":"x","ts":"2024-01-01T00:00:01Z"}`))
	pre.SetError(errors.New("upstream validation failed"))
	in := service.MessageBatch{
		service.NewMessage([]byte(`{"user":"u","ts":"2024-01-01T00:00:01Z"}`)),
		pre,
		service.NewMessage([]byte(`{"user":"u","ts":"yesterday"}`)),
		service.NewMessage([]byte(`{"ts":"2024-01-01T00:00:01Z"}`)),
		service.NewMessage([]byte(`{"user":"u","type":"skip","ts":"2024-01-01T00:00:01Z"}`)),
		service.NewMessage([]byte(`{"user":"u","ts":"2024-01-01T00:00:15Z"}`)), // closes [0,10)
	}
	if err := b.WriteBatch(ctx, in, a1.fn); err != nil {
		t.Fatal(err)
	}
	// Order: the closed window (emitted while the batch was processed), then
	// the batch's pass-through messages.
	win, ackWin := readNow(t, b)
	if len(win) != 1 {
		t.Fatalf("window batch %d", len(win))
	}
	pass, ackPass := readNow(t, b)
	if len(pass) != 4 {
		t.Fatalf("pass-through batch has %d messages, want 4", len(pass))
	}
	if pass[0] != pre || pass[0].GetError() == nil {
		t.Fatal("pre-errored message not passed through untouched")
	}
	for i, wantErr := range []string{"timestamp", "key field \"user\" is missing"} {
		m := pass[i+1]
		if m.GetError() == nil || !strings.Contains(m.GetError().Error(), wantErr) {
			t.Errorf("message %d: error %v, want %q", i+1, m.GetError(), wantErr)
		}
		if c, _ := m.MetaGet("error_class"); c != "validation" {
			t.Errorf("message %d: error_class %q", i+1, c)
		}
	}
	if pass[3].GetError() != nil {
		t.Error("non-windowed message should pass through without error")
	}

	// A late event: its window [0,10) closed at watermark 15 >= 10+2.
	if err := b.WriteBatch(ctx, batchOf(`{"user":"u","ts":"2024-01-01T00:00:03Z"}`), a2.fn); err != nil {
		t.Fatal(err)
	}
	late, ackLate := readNow(t, b)
	m := late[0]
	if m.GetError() == nil || !strings.Contains(m.GetError().Error(), "late") {
		t.Fatalf("late error: %v", m.GetError())
	}
	for k, want := range map[string]string{
		"window_late": "true", "window_late_by_ms": "3000", "error_class": "late", "window_name": "w10",
		"window_start": "2024-01-01T00:00:00Z", "window_end": "2024-01-01T00:00:10Z",
	} {
		if v, _ := m.MetaGet(k); v != want {
			t.Errorf("late meta %s = %q, want %q", k, v, want)
		}
	}
	_ = ackLate(ctx, nil)
	if n, _ := a2.result(); n != 1 {
		t.Fatal("late event's input not acked once passed through")
	}
	_ = ackPass(ctx, nil)
	_ = ackWin(ctx, nil)
	if n, _ := a1.result(); n != 0 {
		t.Fatal("first input acked while the [10,20) window it feeds is open")
	}
	b.EndOfInput()
	_, ack := readNow(t, b)
	_ = ack(ctx, nil)
	if n, err := a1.result(); n != 1 || err != nil {
		t.Fatalf("ack %d %v", n, err)
	}
}

func TestBufferLateDropAndFutureSkew(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, `
timestamp_field: ts
late: drop
max_future_skew: 1m
windows: [ { name: w, size: 10s } ]
`, clk)
	ctx := context.Background()
	var a ackRecorder
	_ = b.WriteBatch(ctx, batchOf(
		`{"ts":"2024-01-01T00:00:20Z"}`, `{"ts":"2024-01-01T00:00:01Z"}`, `{"ts":"2024-01-01T01:00:00Z"}`,
	), a.fn)
	pass, ack := readNow(t, b)
	if len(pass) != 1 || !errors.Is(pass[0].GetError(), engine.ErrFutureSkew) {
		t.Fatalf("future event: %v", pass)
	}
	_ = ack(ctx, nil)
	if queued(b) != 0 {
		t.Fatal("dropped late event was emitted")
	}
}

func TestBufferIdleCloseWithInjectedClock(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, `
timestamp_field: ts
idle_timeout: 30s
windows: [ { name: w, size: 10s, key_field: k } ]
`, clk)
	var a ackRecorder
	_ = b.WriteBatch(context.Background(), batchOf(`{"k":"a","ts":"2024-01-01T00:00:01Z"}`), a.fn)
	clk.Add(29 * time.Second)
	b.tick()
	if queued(b) != 0 {
		t.Fatal("closed before idle timeout")
	}
	clk.Add(time.Second)
	b.tick()
	batch, ack := readNow(t, b)
	if k, _ := batch[0].MetaGet("window_key"); k != "a" {
		t.Fatalf("key %q", k)
	}
	_ = ack(context.Background(), nil)
	if n, err := a.result(); n != 1 || err != nil {
		t.Fatal("input not acked after idle close")
	}
}

// reader acks everything it reads until the buffer ends.
func reader(b *windowBuffer, got *[]string, mu *sync.Mutex) chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			batch, ack, err := b.ReadBatch(context.Background())
			if err != nil {
				return
			}
			mu.Lock()
			for _, m := range batch {
				id, _ := m.MetaGet("window_id")
				*got = append(*got, id)
			}
			mu.Unlock()
			_ = ack(context.Background(), nil)
		}
	}()
	return done
}

func TestBufferBackPressureDoesNotDeadlock(t *testing.T) {
	// Normal case: the blocked event's own timestamp closes the full window.
	clk := &fakeClock{now: time.Unix(0, at(0))}
	// The clock never moves here, so the startup grace (which only ends by
	// wall clock) is off.
	b := newTestBuffer(t, `
timestamp_field: ts
max_open_windows: 2
startup_grace: 0s
windows: [ { name: w, size: 10s, key_field: k } ]
`, clk)
	var mu sync.Mutex
	var got []string
	done := reader(b, &got, &mu)
	var acks [4]ackRecorder
	for i, d := range []string{
		`{"k":"a","ts":"2024-01-01T00:00:01Z"}`, `{"k":"b","ts":"2024-01-01T00:00:02Z"}`,
		`{"k":"a","ts":"2024-01-01T00:00:11Z"}`, `{"k":"a","ts":"2024-01-01T00:00:21Z"}`,
	} {
		if err := b.WriteBatch(context.Background(), batchOf(d), acks[i].fn); err != nil {
			t.Fatal(err)
		}
	}
	b.EndOfInput()
	<-done
	if len(got) != 4 {
		t.Fatalf("emissions %v", got)
	}
	for i := range acks {
		if n, err := acks[i].result(); n != 1 || err != nil {
			t.Fatalf("input %d: %d acks, err %v", i, n, err)
		}
	}

	// Working set above the limit within one window: idle_timeout unblocks.
	b = newTestBuffer(t, `
timestamp_field: ts
max_open_windows: 2
idle_timeout: 10s
windows: [ { name: w, size: 10s, key_field: k } ]
`, clk)
	got = nil
	done = reader(b, &got, &mu)
	var x ackRecorder
	_ = b.WriteBatch(context.Background(), batchOf(`{"k":"a","ts":"2024-01-01T00:00:01Z"}`, `{"k":"b","ts":"2024-01-01T00:00:01Z"}`), x.fn)
	wrote := make(chan struct{})
	go func() {
		_ = b.WriteBatch(context.Background(), batchOf(`{"k":"c","ts":"2024-01-01T00:00:02Z"}`), x.fn)
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("write did not block at max_open_windows")
	case <-time.After(50 * time.Millisecond):
	}
	clk.Add(11 * time.Second)
	b.tick()
	select {
	case <-wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("idle timeout did not unblock the writer")
	}
	b.EndOfInput()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("emissions %v", got)
	}
}

func TestStreamBuilderEndToEnd(t *testing.T) {
	sb := service.NewStreamBuilder()
	if err := sb.AddInputYAML(`
generate:
  count: 7
  interval: ""
  mapping: |
    let evs = [
      {"user":"u1","ts":"2024-01-01T00:00:01Z","page":"/a","type":"view"},
      {"user":"u2","ts":"2024-01-01T00:00:03Z","page":"/a","type":"view"},
      {"user":"u1","ts":"2024-01-01T00:00:04Z","page":"/b","type":"click"},
      {"user":"u1","ts":"bad"},
      {"user":"u1","ts":"2024-01-01T00:00:12Z","page":"/a","type":"view"},
      {"user":"u2","ts":"2024-01-01T00:00:02Z","page":"/c","type":"view"},
      {"user":"u1","ts":"2024-01-01T00:00:13Z","page":"/a","type":"view"}
    ]
    root = $evs.index(count("e2e") - 1)
`); err != nil {
		t.Fatal(err)
	}
	if err := sb.SetBufferYAML(`
window:
  timestamp: root = this.ts
  # Benthos signals end of input only after every input message is acked,
  # and these are held by open windows: the idle timeout closes them once
  # the bounded input stops.
  idle_timeout: 300ms
  windows:
    - name: user_10s
      size: 10s
      key: '${! json("user") }'
      aggregates:
        - { name: events, type: count }
        - { name: pages, type: count_distinct, mapping: root = this.page }
`); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	if err := sb.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if m.GetError() != nil {
			c, _ := m.MetaGet("error_class")
			got = append(got, "error:"+c)
			return nil
		}
		b, _ := m.AsBytes()
		got = append(got, string(b))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err, got)
	}
	// Errored and late events pass through at once; windows close only once
	// the startup grace (idle_timeout, 300ms, here) has passed.
	want := []string{
		"error:validation",
		"error:late",
		`{"key":"u1","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:10Z","events":2,"pages":2}`,
		`{"key":"u2","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:10Z","events":1,"pages":1}`,
		`{"key":"u1","window_start":"2024-01-01T00:00:10Z","window_end":"2024-01-01T00:00:20Z","events":2,"pages":1}`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output %d: %s, want %s", i, got[i], want[i])
		}
	}
}

func TestLintAndConstructorErrors(t *testing.T) {
	cases := map[string]string{
		`windows: [ { name: a, type: hopping, size: 10s, slide: 20s } ]`:                           "windows[0].slide",
		`windows: [ { name: a, type: session, gap: 0s } ]`:                                         "windows[0].gap",
		`windows: [ { name: a, size: 0s } ]`:                                                       "windows[0].size",
		`windows: [ { name: a, type: weird, size: 1s } ]`:                                          "weird",
		`{ timestamp: "root = this.ts", timestamp_field: ts, windows: [ { name: a, size: 1s } ] }`: "timestamp",
		`windows: [ { name: a, size: 1s, key: "x", key_field: y } ]`:                               "key",
		`windows: [ { name: a, size: 1s, aggregates: [ { name: s, type: sum } ] } ]`:               "aggregates[0]",
		`{ wal: { dir: x, segment_bytes: 0 }, windows: [ { name: a, size: 1s } ] }`:                "wal.segment_bytes",
	}
	for conf, field := range cases {
		sb := service.NewStreamBuilder()
		err := sb.SetBufferYAML("window:\n" + indent(conf))
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("lint %s: err %v, want it to name %s", conf, err, field)
		}
		// The constructor rejects the same configs when linting is off.
		pc, perr := bufferSpec().ParseYAML(conf, nil)
		if perr == nil {
			if _, err := parseOptions(pc); err == nil || !strings.Contains(err.Error(), field) {
				t.Errorf("constructor %s: err %v, want it to name %s", conf, err, field)
			}
		}
	}
	ok := service.NewStreamBuilder()
	if err := ok.SetBufferYAML("window:\n" + indent(basicYAML)); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := range lines {
		lines[i] = "  " + lines[i]
	}
	return strings.Join(lines, "\n")
}

func TestSpecDocumentsEveryField(t *testing.T) {
	b, err := json.Marshal(map[string]any{"x": 1})
	if err != nil || len(b) == 0 {
		t.Fatal(err)
	}
	env := service.GlobalEnvironment()
	found := false
	env.WalkBuffers(func(name string, cv *service.ConfigView) {
		if name != "window" {
			return
		}
		found = true
		if cv.Summary() == "" || !strings.Contains(cv.Description(), "acknowledged only after") {
			t.Error("summary/description missing the ack rule")
		}
		j, err := cv.FormatJSON()
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Config struct {
				Children []struct {
					Name, Description string
					Children          []struct{ Name, Description string }
				} `json:"children"`
			} `json:"config"`
			Examples []any `json:"examples"`
		}
		if err := json.Unmarshal(j, &spec); err != nil {
			t.Fatal(err)
		}
		if len(spec.Examples) < 2 {
			t.Error("fewer than two examples")
		}
		for _, f := range spec.Config.Children {
			if f.Description == "" {
				t.Errorf("field %s undocumented", f.Name)
			}
			for _, c := range f.Children {
				if c.Description == "" {
					t.Errorf("field %s.%s undocumented", f.Name, c.Name)
				}
			}
		}
	})
	if !found {
		t.Fatal("window buffer not registered")
	}
}

// A window closing for more keys than maxResultBatch is read in batches of
// at most maxResultBatch, every key once, and its inputs are acked only when
// the last batch is; a nack of any batch reaches the inputs.
func TestBufferSplitsLargeResultsAndAcksAfterTheLastPart(t *testing.T) {
	for _, nackPart := range []int{-1, 1} {
		clk := &fakeClock{now: time.Unix(0, at(0))}
		b := newTestBuffer(t, basicYAML, clk)
		ctx := context.Background()
		keys := 2*maxResultBatch + 7
		docs := make([]string, keys)
		for i := range docs {
			docs[i] = fmt.Sprintf(`{"user":"u%05d","ts":"2024-01-01T00:00:01Z","type":"click"}`, i)
		}
		var in, closer ackRecorder
		if err := b.WriteBatch(ctx, batchOf(docs...), in.fn); err != nil {
			t.Fatal(err)
		}
		if err := b.WriteBatch(ctx, batchOf(`{"user":"x","ts":"2024-01-01T00:00:30Z","type":"view"}`), closer.fn); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		var sizes []int
		for part := 0; len(seen) < keys; part++ {
			batch, ack := readNow(t, b)
			sizes = append(sizes, len(batch))
			for _, m := range batch {
				k, _ := m.MetaGet("window_key")
				if seen[k] {
					t.Fatalf("key %s read twice", k)
				}
				seen[k] = true
			}
			if n, _ := in.result(); n != 0 {
				t.Fatalf("input acked after %d of the window's batches", part)
			}
			var err error
			if part == nackPart {
				err = errors.New("output down")
			}
			if aerr := ack(ctx, err); aerr != nil {
				t.Fatal(aerr)
			}
		}
		if want := []int{maxResultBatch, maxResultBatch, 7}; fmt.Sprint(sizes) != fmt.Sprint(want) {
			t.Fatalf("batch sizes %v, want %v", sizes, want)
		}
		n, err := in.result()
		if n != 1 || (nackPart < 0) != (err == nil) {
			t.Fatalf("nacked part %d: input acked %d times with %v", nackPart, n, err)
		}
	}
}

// WriteBatch waits for the output once maxQueued results are unread, even
// far below max_open_windows, and goes on when they are read.
func TestBufferWaitsForTheOutputWhenResultsQueueUp(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, basicYAML, clk)
	ctx := context.Background()
	docs := make([]string, maxQueued+1)
	for i := range docs {
		docs[i] = fmt.Sprintf(`{"user":"u%06d","ts":"2024-01-01T00:00:01Z","type":"click"}`, i)
	}
	var in ackRecorder
	if err := b.WriteBatch(ctx, batchOf(docs...), in.fn); err != nil {
		t.Fatal(err)
	}
	// This event closes the first window: maxQueued+1 results are unread.
	if err := b.WriteBatch(ctx, batchOf(`{"user":"x","ts":"2024-01-01T00:00:30Z","type":"view"}`), in.fn); err != nil {
		t.Fatal(err)
	}
	wrote := make(chan struct{})
	go func() {
		_ = b.WriteBatch(ctx, batchOf(`{"user":"y","ts":"2024-01-01T00:00:31Z","type":"view"}`), in.fn)
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatalf("write did not wait with %d results unread", queuedMsgs(b))
	case <-time.After(50 * time.Millisecond):
	}
	for read := 0; read < maxQueued+1; {
		batch, ack := readNow(t, b)
		read += len(batch)
		_ = ack(ctx, nil)
	}
	select {
	case <-wrote:
	case <-time.After(5 * time.Second):
		t.Fatal("reading the results did not unblock the writer")
	}
}

func queuedMsgs(b *windowBuffer) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queued
}
