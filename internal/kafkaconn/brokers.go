package kafkaconn

import (
	"fmt"
	"strings"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// SeedBrokers reads a broker list field whose entries may each hold several
// comma-separated addresses, as KAFKA_BROKERS does ("a:9092,b:9092"); an
// empty list is an error naming the field.
func SeedBrokers(conf *service.ParsedConfig, field string) ([]string, error) {
	raw, err := conf.FieldStringList(field)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range raw {
		for _, b := range strings.Split(e, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("field %s: at least one broker address is required", field)
	}
	return out, nil
}

// SeedBrokersLintRule is a Bloblang lint rule (appending to the errors of a
// rule before it, if any) that makes `pipeline lint` fail, naming the
// field, when seed_brokers holds no address: a list field without a default
// is not reported missing by Benthos' lint itself.
const SeedBrokersLintRule = `
root = root.or([]).merge(if this.seed_brokers.or([]).map_each(b -> b.string().split(",")).flatten().map_each(b -> b.trim()).filter(b -> b != "").length() == 0 {
  [ "field seed_brokers: at least one broker address is required (a config writes it once: seed_brokers: &brokers [ ... ] on its first Kafka component, seed_brokers: *brokers on the others)" ]
} else { [] })
`
