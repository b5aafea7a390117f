package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/streamkit/pipeline/tests/harness"
)

// Every shipped config writes its broker address and security once (issue
// 15): one `${KAFKA_BROKERS...}`, and every other seed_brokers, tls or sasl
// is a YAML alias of the first (`*brokers`), which cannot differ from it.
// Router children leave them out (they take output's); `pipeline lint`
// (tests/run.sh) checks the aliases resolve and no child is left without.
func TestConfigsWriteTheirBrokersOnce(t *testing.T) {
	var files []string
	for _, pattern := range []string{"configs/*.yaml", "configs/examples/*.yaml"} {
		m, err := filepath.Glob(filepath.Join(harness.RepoRoot(), pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found %d configs, want every shipped one", len(files))
	}
	for _, f := range files {
		rel, _ := filepath.Rel(harness.RepoRoot(), f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		written := map[string]int{}
		countWritten(&doc, written)
		for _, field := range []string{"seed_brokers", "tls", "sasl"} {
			if written[field] > 1 {
				t.Errorf("%s writes %s %d times; write it once (%s: &name ...) and refer to it (%s: *name)", rel, field, written[field], field, field)
			}
		}
		if n := strings.Count(string(b), "${KAFKA_BROKERS"); n > 1 {
			t.Errorf("%s reads KAFKA_BROKERS %d times, want once", rel, n)
		}
	}
}

// countWritten counts, per connection field, the values written out (not
// YAML aliases) under n.
func countWritten(n *yaml.Node, written map[string]int) {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k, v := n.Content[i].Value, n.Content[i+1]; k {
			case "seed_brokers", "tls", "sasl":
				if v.Kind != yaml.AliasNode {
					written[k]++
				}
			}
		}
	}
	for _, c := range n.Content {
		countWritten(c, written)
	}
}
