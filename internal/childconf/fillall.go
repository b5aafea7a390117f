package childconf

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// FillAll sets every one of defaults on the child's Kafka output when the
// child is one and sets none of them (fields that only make sense
// together, such as a partitioner and its partition). It reports whether it
// filled them.
func FillAll(child any, defaults map[string]any) (bool, error) {
	filled := false
	err := edit(child, func(root *yaml.Node) error {
		k := kafkaBody(root)
		if k == nil {
			return nil
		}
		for name := range defaults {
			if lookup(k, name) != nil {
				return nil
			}
		}
		for _, name := range sortedKeys(defaults) {
			var v yaml.Node
			if err := v.Encode(defaults[name]); err != nil {
				return fmt.Errorf("default %s: %w", name, err)
			}
			setKey(k, name, &v)
		}
		filled = true
		return nil
	})
	return filled, err
}
