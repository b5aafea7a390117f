package retry

import (
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// The retry_topics input fails lint, naming the field, without brokers (a
// list field without a default is not reported missing by Benthos itself).
func TestLintRetryTopicsNeedsBrokers(t *testing.T) {
	err := service.NewStreamBuilder().AddInputYAML("retry_topics: { topics: [ s1 ], consumer_group: g }")
	if err == nil || !strings.Contains(err.Error(), "field seed_brokers: at least one broker address is required") {
		t.Errorf("lint: %v, want it to name seed_brokers", err)
	}
	if err := service.NewStreamBuilder().AddInputYAML("retry_topics: { seed_brokers: [ b:9092 ], topics: [ s1 ], consumer_group: g }"); err != nil {
		t.Errorf("lint of a complete retry_topics: %v", err)
	}
}
