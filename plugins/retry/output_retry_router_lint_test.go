package retry

import (
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const lintChildren = "retry_router:\n  output: { drop: {} }\n  retry: { drop: {} }\n  dlq: { drop: {} }\n"

// `pipeline lint` (the spec's lint rule, not only the constructor) names
// the field of a broken ladder.
func TestLintRejectsBrokenLadders(t *testing.T) {
	cases := map[string]string{
		"  delays: []\n":                                   "field delays: the retry ladder is empty",
		"  delays: [ 1s, -1s ]\n":                          "field delays[1]: -1s is not a duration >= 0",
		"  delays: [ soon ]\n":                             "field delays[0]: soon",
		"  exponential: { multiplier: 0.5, stages: 3 }\n":  "field exponential.multiplier",
		"  delays: [ 1s ]\n  retriable: 'root = this.('\n": "expected query",
	}
	for conf, want := range cases {
		err := service.NewStreamBuilder().AddOutputYAML(lintChildren + conf)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lint %q: err %v, want it to say %q", conf, err, want)
		}
	}
	if err := service.NewStreamBuilder().AddOutputYAML(lintChildren + "  delays: [ 1s, 10s ]\n"); err != nil {
		t.Errorf("a valid ladder failed lint: %v", err)
	}
}

// `pipeline lint` names a child that would have no brokers (none written,
// none lent by output; the default retry child included) and a child with
// half a connection of its own; a config that writes its brokers once, on
// output, passes.
func TestLintNamesKafkaChildrenWithoutBrokers(t *testing.T) {
	const head = "retry_router:\n  delays: [ 1s ]\n"
	cases := map[string]string{
		"  output: { drop: {} }\n  retry: { drop: {} }\n  dlq: { switch: { cases: [ { output: { redpanda: { topic: d } } } ] } }\n": "field dlq: a redpanda output without seed_brokers, and output has none to lend",
		"  output: { drop: {} }\n  dlq: { drop: {} }\n":                                                                                                        "field retry: a redpanda output without seed_brokers, and output has none to lend",
		"  output: { redpanda: { topic: o } }\n  retry: { drop: {} }\n  dlq: { drop: {} }\n":                                                                   "field output: a redpanda output without seed_brokers",
		"  output: { redpanda: { seed_brokers: [ b:9092 ], topic: o } }\n  dlq: { drop: {} }\n  late: { kafka_franz: { topic: l, tls: { enabled: true } } }\n": "field late: a kafka_franz output sets tls or sasl but no seed_brokers",
	}
	for conf, want := range cases {
		err := service.NewStreamBuilder().AddOutputYAML(head + conf)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lint %q: err %v, want it to say %q", conf, err, want)
		}
	}
	for _, conf := range []string{
		// Written once on output, every other child takes them.
		"  output: { redpanda: { seed_brokers: [ b:9092 ], topic: o } }\n  late: { redpanda: { topic: l } }\n  dlq: { switch: { cases: [ { output: { redpanda: { topic: d } } } ] } }\n",
		// A child on another cluster names its own brokers.
		"  output: { drop: {} }\n  retry: { redpanda: { seed_brokers: [ other:9092 ], topic: r, tls: { enabled: true } } }\n  dlq: { drop: {} }\n",
	} {
		if err := service.NewStreamBuilder().AddOutputYAML(head + conf); err != nil {
			t.Errorf("lint %q: %v, want no error", conf, err)
		}
	}
}
