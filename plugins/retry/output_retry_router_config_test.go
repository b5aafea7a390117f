package retry

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func routerYAML(fields string) string {
	return `
input:
  generate: { mapping: 'root = 1', count: 1 }
output:
  retry_router:
` + fields + `
    output: { drop: {} }
    retry: { drop: {} }
    dlq: { drop: {} }
`
}

// buildErr returns the lint error from SetYAML or else the constructor
// error, which surfaces when the stream starts (a valid config runs its
// single generated message and ends).
func buildErr(yaml string) error {
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

func TestRouterConfigErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, fields, want string }{
		{"empty ladder", `    delays: []`, "delays"},
		{"negative delay", `    delays: [ 1s, -2s ]`, "delays"},
		{"bad duration", `    delays: [ 1s, soon ]`, "delays[1]"},
		// Benthos lints Bloblang fields itself and reports line:column;
		// line 7 of routerYAML is the retriable field.
		{"retriable does not parse", "    delays: [ 1s ]\n    retriable: 'this.foo ==== 3'", "(7,"},
		{"topics mismatch", "    delays: [ 1s, 2s, 3s ]\n    topics: [ a, b ]", "topics"},
		{"pattern without stage", "    delays: [ 1s, 2s ]\n    topic_pattern: 'x-retry'", "topic_pattern"},
		{"jitter", "    delays: [ 1s ]\n    jitter: 2", "jitter"},
		{"exponential multiplier", "    exponential: { initial_delay: 1s, multiplier: 0.5, stages: 3 }", "exponential.multiplier"},
		{"copartition without a Kafka retry child", "    delays: [ 1s ]\n    copartition: true", "retry: copartition needs a redpanda or kafka_franz retry child"},
	}
	for _, c := range cases {
		err := buildErr(routerYAML(c.fields))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want error naming %q, got %v", c.name, c.want, err)
		}
	}
}

func TestRouterConfigValid(t *testing.T) {
	for _, fields := range []string{
		`    delays: [ 1s, 10s, 1m ]`,
		"    delays: [ 30s ]\n    topics: [ orders-retry ]\n    max_attempts: 5",
		"    exponential: { initial_delay: 1s, multiplier: 4, max_delay: 30s, stages: 4 }\n    jitter: 0.2",
		"    delays: [ 1s ]\n    ordering: key\n    retriable: 'error().contains(\"503\")'",
	} {
		if err := buildErr(routerYAML(fields)); err != nil {
			t.Errorf("%q: %v", fields, err)
		}
	}
}

func TestInputConfigErrors(t *testing.T) {
	in := func(fields string) string {
		return "input:\n  retry_topics:\n" + fields + "\noutput: { drop: {} }\n"
	}
	cases := []struct{ fields, want string }{
		{"    seed_brokers: [ x:9092 ]\n    topics: []\n    consumer_group: g", "topics"},
		{"    seed_brokers: [ x:9092 ]\n    topics: [ a ]\n    consumer_group: ''", "consumer_group"},
		{"    seed_brokers: [ x:9092 ]\n    topics: [ a ]\n    consumer_group: g\n    commit_period: 10ms", "commit_period"},
	}
	for _, c := range cases {
		if err := buildErr(in(c.fields)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error naming %q, got %v", c.want, err)
		}
	}
}

func TestSpecsDocumentEveryField(t *testing.T) {
	env := service.GlobalEnvironment()
	for kind, name := range map[string]string{"input": "retry_topics", "output": "retry_router"} {
		var found bool
		walk := func(n string, v *service.ConfigView) {
			if n != name {
				return
			}
			found = true
			tmpl, err := v.TemplateData()
			if err != nil {
				t.Fatal(err)
			}
			if tmpl.Summary == "" || tmpl.Description == "" || len(tmpl.Examples) == 0 {
				t.Errorf("%s %s lacks summary, description or examples", kind, name)
			}
			for _, f := range tmpl.Fields {
				if strings.TrimSpace(f.Description) == "" {
					t.Errorf("%s %s field %s undocumented", kind, name, f.FullName)
				}
			}
		}
		if kind == "input" {
			env.WalkInputs(walk)
		} else {
			env.WalkOutputs(walk)
		}
		if !found {
			t.Errorf("%s %s not registered", kind, name)
		}
	}
}
