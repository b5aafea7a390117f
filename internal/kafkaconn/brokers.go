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
