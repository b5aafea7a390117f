package validate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/streamkit/pipeline/internal/metricstest"
)

const inlineSpec = `
fields:
  event_type: {type: enum, values: [page_view, click]}
  user_id: {type: string}
  timestamp: {type: timestamp}
`

type outcome struct {
	content string
	meta    map[string]string
}

// newBuilder adds processors one by one: SetYAML would replace the func
// input and output with its defaults.
func newBuilder(t *testing.T, strict bool, procs ...string) *service.StreamBuilder {
	t.Helper()
	b := service.NewStreamBuilder()
	for _, p := range procs {
		if err := b.AddProcessorYAML(p); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	b.SetStrict(strict) // same as error_handling.strict in a config file
	_ = b.SetLoggerYAML("level: none")
	return b
}

// runStream pushes payloads through a stream built from YAML and collects
// what reaches the output, keyed by the content. The YAML decides how
// failed messages are marked (default vs strict error handling).
func runStream(t *testing.T, strict bool, procs []string, metricsID string, payloads ...string) []outcome {
	t.Helper()
	b := newBuilder(t, strict, procs...)
	if err := b.SetMetricsYAML(metricstest.YAML(metricsID)); err != nil {
		t.Fatal(err)
	}
	produce, err := b.AddProducerFunc()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []outcome
	if err := b.AddConsumerFunc(func(_ context.Context, m *service.Message) error {
		c, _ := m.AsBytes()
		o := outcome{content: string(c), meta: map[string]string{}}
		_ = m.MetaWalk(func(k, v string) error { o.meta[k] = v; return nil })
		mu.Lock()
		got = append(got, o)
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for _, p := range payloads {
		if err := produce(ctx, service.NewMessage([]byte(p))); err != nil {
			t.Fatalf("produce %q: %v", p, err)
		}
	}
	if err := s.StopWithin(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	<-done
	return got
}

var (
	validEvent   = `{"event_type":"click","user_id":"u1","timestamp":"2024-06-27T15:43:43.315342"}`
	invalidEvent = `{"event_type":"login","timestamp":"yesterday"}`
)

func checkOutcomes(t *testing.T, got []outcome, errKey string) {
	t.Helper()
	if len(got) != 2 {
		t.Fatalf("got %d messages: %+v", len(got), got)
	}
	for _, o := range got {
		switch o.content {
		case validEvent:
			if o.meta["route"] != "main" || o.meta[meta.ErrorClass] != "" {
				t.Errorf("valid event routed %q with meta %v", o.meta["route"], o.meta)
			}
		case invalidEvent:
			if o.meta["route"] != "dlq" || o.meta[meta.ErrorClass] != meta.ClassValidation {
				t.Errorf("invalid event routed %q with meta %v", o.meta["route"], o.meta)
			}
			want := `event_type: not one of page_view, click ("login"); user_id: required; timestamp: not a timestamp ("yesterday")`
			if o.meta[errKey] != want {
				t.Errorf("error %q, want %q", o.meta[errKey], want)
			}
			if o.meta["source"] != "check_event" {
				t.Errorf("failing component label %q", o.meta["source"])
			}
			var vs []Violation
			if err := json.Unmarshal([]byte(o.meta[meta.ValidationErrors]), &vs); err != nil || len(vs) != 3 || vs[1].Path != "user_id" || vs[1].Rule != "required" {
				t.Errorf("validation_errors %s (%v)", o.meta[meta.ValidationErrors], err)
			}
		default:
			t.Errorf("unexpected content %q", o.content)
		}
	}
}

func TestDefaultErrorModeRoutesWithErrored(t *testing.T) {
	got := runStream(t, false, []string{
		fmt.Sprintf("label: check_event\nvalidate:\n  schema: %q\n", inlineSpec),
		`mapping: |
  meta route = if errored() { "dlq" } else { "main" }
  meta err = if errored() { error() }
  meta source = if errored() { @error_component }
`}, "default", validEvent, invalidEvent)
	checkOutcomes(t, got, "err")
}

func TestStrictErrorModeWithTryCatch(t *testing.T) {
	got := runStream(t, true, []string{
		fmt.Sprintf(`try_catch:
  processors:
    - label: check_event
      validate:
        schema: %q
  catch:
    - mapping: |
        meta route = "dlq"
        meta source = @error_component
`, inlineSpec),
		`mapping: |
  meta route = @route | "main"
  meta err = @error.what
`}, "strict", validEvent, invalidEvent)
	checkOutcomes(t, got, "err")
}

func TestMetricsCountValidatedAndInvalidByRule(t *testing.T) {
	runStream(t, false, []string{fmt.Sprintf("validate: {schema: %q}", inlineSpec)}, "metrics", validEvent, invalidEvent, `{"event_type":"scroll"}`, "nope")
	rec := metricstest.Get("metrics")
	checks := []struct {
		name, label string
		want        int64
	}{
		{"validate_validated", "", 4},
		{"validate_invalid", "rule=enum", 2},
		{"validate_invalid", "rule=required", 2}, // a message counts once per rule
		{"validate_invalid", "rule=timestamp", 1},
		{"validate_invalid", "rule=json", 1},
		{"validate_invalid", "rule=type", 0},
	}
	for _, c := range checks {
		labels := []string{}
		if c.label != "" {
			labels = append(labels, c.label)
		}
		if got := rec.Count(c.name, labels...); got != c.want {
			t.Errorf("%s{%s} = %d, want %d", c.name, c.label, got, c.want)
		}
	}
}

func TestConfigLintAndErrors(t *testing.T) {
	env := service.NewEnvironment()
	for conf, want := range map[string]string{
		"validate: {}": "exactly one of",
		"validate: {schema: 'fields: {a: {type: int}}', json_schema: '{}'}": "exactly one of",
	} {
		b := env.NewStreamBuilder()
		err := b.AddProcessorYAML(conf)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want lint %q", conf, err, want)
		}
	}
	for conf, want := range map[string]string{
		"schema_file: /nonexistent.yaml":         "schema_file",
		"schema: 'fields: {a: {type: integer}}'": `unknown type "integer"`,
		`json_schema: '{"type": "nope"}'`:        "json schema",
	} {
		pConf, err := spec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := validatorFromConfig(pConf); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", conf, err, want)
		}
	}
}
