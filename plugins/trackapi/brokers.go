package trackapi

import "strings"

// splitBrokers accepts "a:9092,b:9092" entries, as KAFKA_BROKERS holds them.
func splitBrokers(in []string) []string {
	var out []string
	for _, e := range in {
		for _, b := range strings.Split(e, ",") {
			if b = strings.TrimSpace(b); b != "" {
				out = append(out, b)
			}
		}
	}
	return out
}
