// Package childconf fills in what a plugin's child output leaves out, before
// the plugin builds the child: the fields the metadata contract
// (internal/meta) decides, such as the key and headers of a dead letter, and
// the Kafka connection the parent already knows. A config then says only
// what is particular to the child (its topic).
//
// The child config is the value Benthos hands the plugin for an output
// field (ParsedConfig.FieldAny): a *yaml.Node when the config wrote the
// field, a map when it came from the field's default. Both are changed in
// place, so the following ParsedConfig.FieldOutput builds the completed
// child. Only fields the child does not set are filled: what a config
// writes always wins.
package childconf

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// KafkaOutputs are the output types Fill and Inherit complete.
var KafkaOutputs = []string{"redpanda", "kafka_franz"}

// ConnectionFields are the fields of a Kafka output that say which cluster
// it writes to and how it authenticates.
var ConnectionFields = []string{"seed_brokers", "tls", "sasl", "client_id"}

// Fill sets each of defaults on the child's Kafka output when the child is
// one (a redpanda or kafka_franz output, not nested) and does not set it.
// It reports whether the child is a Kafka output.
func Fill(child any, defaults map[string]any) (bool, error) {
	found := false
	err := edit(child, func(root *yaml.Node) error {
		k := kafkaBody(root)
		if k == nil {
			return nil
		}
		found = true
		for _, name := range sortedKeys(defaults) {
			if lookup(k, name) != nil {
				continue
			}
			var v yaml.Node
			if err := v.Encode(defaults[name]); err != nil {
				return fmt.Errorf("default %s: %w", name, err)
			}
			setKey(k, name, &v)
		}
		return nil
	})
	return found, err
}

// Connection returns the connection fields of the child's Kafka output: the
// child itself, or else the first Kafka output with seed_brokers inside it
// (a switch of topics). Nil when there is none.
func Connection(child any) (map[string]*yaml.Node, error) {
	var out map[string]*yaml.Node
	err := edit(child, func(root *yaml.Node) error {
		k := kafkaBody(root)
		if k == nil {
			walkMappings(root, func(m *yaml.Node) {
				if k != nil {
					return
				}
				if b := kafkaBody(m); b != nil && lookup(b, "seed_brokers") != nil {
					k = b
				}
			})
		}
		if k == nil {
			return nil
		}
		for _, f := range ConnectionFields {
			if v := lookup(k, f); v != nil {
				if out == nil {
					out = map[string]*yaml.Node{}
				}
				out[f] = deepCopy(v)
			}
		}
		return nil
	})
	return out, err
}

// Inherit gives every Kafka output anywhere inside child (a switch case, a
// dead_letter's child, ...) that sets no seed_brokers the connection conn,
// whole: a Kafka output that sets tls or sasl but no seed_brokers is an
// error (its own security on the lent brokers would mix two connections),
// while client_id may differ. It returns the number of outputs completed.
func Inherit(child any, conn map[string]*yaml.Node) (int, error) {
	n := 0
	err := edit(child, func(root *yaml.Node) error {
		var half error
		walkMappings(root, func(m *yaml.Node) {
			for _, typ := range KafkaOutputs {
				body := lookup(m, typ)
				if body == nil || body.Kind != yaml.MappingNode || lookup(body, "seed_brokers") != nil {
					continue
				}
				if lookup(body, "tls") != nil || lookup(body, "sasl") != nil {
					if half == nil {
						half = fmt.Errorf(halfConnection, typ)
					}
					continue
				}
				if len(conn) == 0 {
					continue
				}
				for _, f := range ConnectionFields {
					if v, ok := conn[f]; ok && lookup(body, f) == nil {
						setKey(body, f, deepCopy(v))
					}
				}
				n++
			}
		})
		return half
	})
	return n, err
}

// MissingBrokers names the Kafka outputs inside child (by type) that still
// set no seed_brokers: without them Connect looks for the enterprise-only
// top-level redpanda block and fails at the first write.
func MissingBrokers(child any) ([]string, error) {
	var out []string
	err := edit(child, func(root *yaml.Node) error {
		walkMappings(root, func(m *yaml.Node) {
			for _, typ := range KafkaOutputs {
				if body := lookup(m, typ); body != nil && body.Kind == yaml.MappingNode && lookup(body, "seed_brokers") == nil {
					out = append(out, typ)
				}
			}
		})
		return nil
	})
	return out, err
}
