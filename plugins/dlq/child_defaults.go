package dlq

import (
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/childconf"
	"github.com/streamkit/pipeline/internal/meta"
)

// letterDefaults are the fields of a Kafka child of dead_letter (and
// dlq_replay's writer) that the contract decides: the record's key and
// timestamp from the stashes, every header but the stashes. A config sets
// only the topic (and may override any of these).
var letterDefaults = map[string]any{
	"key":          `${! metadata("` + meta.StashKey + `") }`,
	"timestamp_ms": `${! metadata("` + meta.StashTimestampMs + `") }`,
	"metadata":     map[string]any{"include_patterns": []string{"^[^" + meta.StashPrefix + "]"}},
}

// ownedChild completes the child output at field (contract defaults when it
// is a Kafka output) and builds it.
func ownedChild(conf *service.ParsedConfig, field string, defaults map[string]any) (*service.OwnedOutput, error) {
	if defaults != nil {
		raw, err := conf.FieldAny(field)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if _, err := childconf.Fill(raw, defaults); err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
	}
	return conf.FieldOutput(field)
}

// inheritConnection gives the Kafka outputs inside field `to` that name no
// brokers the connection of the Kafka output at field `from` (`to` may be
// `from` itself: the cases of a switch), so a config writes its brokers and
// security once.
func inheritConnection(conf *service.ParsedConfig, from, to string) error {
	src, err := conf.FieldAny(from)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	conn, err := childconf.Connection(src)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	dst, err := conf.FieldAny(to)
	if err != nil {
		return fmt.Errorf("%s: %w", to, err)
	}
	if _, err := childconf.Inherit(dst, conn); err != nil {
		return fmt.Errorf("%s: %w", to, err)
	}
	return requireBrokers(dst, to, from+" has none to lend")
}

// requireBrokers fails, naming field, when the child config raw holds a
// Kafka output without seed_brokers: Connect's outputs would then look for
// the enterprise-only top-level redpanda block and fail at the first write.
func requireBrokers(raw any, field, why string) error {
	missing, err := childconf.MissingBrokers(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: a %s output without seed_brokers, and %s", field, missing[0], why)
	}
	return nil
}
