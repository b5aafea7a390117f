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
