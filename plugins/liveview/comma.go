package liveview

import "strings"

// splitComma accepts "a:9092,b:9092" entries, as KAFKA_BROKERS holds them.
func splitComma(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}
