package retry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
)

// captured is one message a test sink received.
type captured struct {
	at   time.Time
	body string
	meta map[string]string
	err  error
}

// sink is the state behind a `retry_test_sink` output, found by name.
type sink struct {
	mu       sync.Mutex
	msgs     []captured
	failing  atomic.Bool
	attempts atomic.Int64
	notify   chan struct{}
}

var (
	sinksMu sync.Mutex
	sinks   = map[string]*sink{}
)

func newSink(t *testing.T, name string) *sink {
	s := &sink{notify: make(chan struct{}, 1)}
	sinksMu.Lock()
	sinks[name] = s
	sinksMu.Unlock()
	t.Cleanup(func() {
		sinksMu.Lock()
		delete(sinks, name)
		sinksMu.Unlock()
	})
	return s
}

func init() {
	spec := service.NewConfigSpec().Field(service.NewStringField("name"))
	err := service.RegisterOutput("retry_test_sink", spec,
		func(conf *service.ParsedConfig, _ *service.Resources) (service.Output, int, error) {
			name, err := conf.FieldString("name")
			if err != nil {
				return nil, 0, err
			}
			sinksMu.Lock()
			s := sinks[name]
			sinksMu.Unlock()
			if s == nil {
				return nil, 0, fmt.Errorf("no sink %q", name)
			}
			return s, 1, nil
		})
	if err != nil {
		panic(err)
	}
}

func (s *sink) Connect(context.Context) error { return nil }
func (s *sink) Close(context.Context) error   { return nil }

func (s *sink) Write(_ context.Context, m *service.Message) error {
	s.attempts.Add(1)
	defer signal(s.notify)
	if s.failing.Load() {
		return errors.New("sink rejects writes")
	}
	b, _ := m.AsBytes()
	c := captured{at: time.Now(), body: string(b), meta: map[string]string{}, err: m.GetError()}
	_ = m.MetaWalk(func(k, v string) error { c.meta[k] = v; return nil })
	s.mu.Lock()
	s.msgs = append(s.msgs, c)
	s.mu.Unlock()
	return nil
}

func (s *sink) got() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.msgs...)
}

// waitFor blocks until cond holds on the sink, failing the test after
// timeout. It is woken by writes, never by sleeping.
func (s *sink) waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-s.notify:
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// lateness collects release delays (actual − due) across tests for the
// summary log.
var (
	latenessMu sync.Mutex
	latenesses []time.Duration
)

func recordLateness(d time.Duration) {
	latenessMu.Lock()
	latenesses = append(latenesses, d)
	latenessMu.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	latenessMu.Lock()
	if n := len(latenesses); n > 0 {
		sort.Slice(latenesses, func(i, j int) bool { return latenesses[i] < latenesses[j] })
		fmt.Printf("release delay (actual - due) over %d releases: min %v median %v max %v\n",
			n, latenesses[0], latenesses[n/2], latenesses[n-1])
	}
	latenessMu.Unlock()
	os.Exit(code)
}
