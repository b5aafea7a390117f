package childconf

import (
	"fmt"
	"maps"
	"slices"

	"gopkg.in/yaml.v3"
)

// edit runs fn on child as a YAML mapping node. A *yaml.Node is edited in
// place; a map[string]any (a field default) is converted, edited and
// written back into the same map.
func edit(child any, fn func(*yaml.Node) error) error {
	switch c := child.(type) {
	case *yaml.Node:
		root := c
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			root = root.Content[0]
		}
		if root.Kind != yaml.MappingNode {
			return nil
		}
		return fn(root)
	case map[string]any:
		var root yaml.Node
		if err := root.Encode(c); err != nil {
			return err
		}
		if err := fn(&root); err != nil {
			return err
		}
		var back map[string]any
		if err := root.Decode(&back); err != nil {
			return err
		}
		clear(c)
		maps.Copy(c, back)
		return nil
	case nil:
		return nil
	default:
		return fmt.Errorf("child output config of type %T, want a YAML mapping", child)
	}
}

// kafkaBody returns the body of a Kafka output at the top of an output
// config (`redpanda: {...}` next to `label` and `processors`).
func kafkaBody(root *yaml.Node) *yaml.Node {
	for _, typ := range KafkaOutputs {
		if b := lookup(root, typ); b != nil && b.Kind == yaml.MappingNode {
			return b
		}
	}
	return nil
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setKey(m *yaml.Node, key string, v *yaml.Node) {
	if v.Kind == yaml.DocumentNode && len(v.Content) == 1 {
		v = v.Content[0]
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// walkMappings calls fn on every mapping node under n, n included.
func walkMappings(n *yaml.Node, fn func(*yaml.Node)) {
	if n.Kind == yaml.MappingNode {
		fn(n)
	}
	for _, c := range n.Content {
		walkMappings(c, fn)
	}
}

// deepCopy copies n for another place in the tree: an alias
// (`seed_brokers: *brokers`) becomes a copy of what it points to, and the
// copy defines no anchor, so the tree keeps one definition of each.
func deepCopy(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return deepCopy(n.Alias)
	}
	c := *n
	c.Anchor = ""
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = deepCopy(x)
	}
	return &c
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
