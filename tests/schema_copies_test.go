package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/streamkit/pipeline/tests/harness"
	"gopkg.in/yaml.v3"
)

// The main job reads the clickstream event schema from one file,
// plugins/validate/schemas/clickstream.yaml (shipped in the binary as
// builtin_schema clickstream, so the job runs from any directory), not
// from a copy of it. (The /track API's copy is checked by
// TestTrackAPISchemaIsTheClickstreamEvent.)
func TestClickstreamJobReadsTheSchemaFile(t *testing.T) {
	uses := componentConfigs(t, "configs/clickstream.yaml", "validate")
	if len(uses) != 1 {
		t.Fatalf("configs/clickstream.yaml has %d validate processors, want 1", len(uses))
	}
	if got := uses[0]["builtin_schema"]; got != "clickstream" {
		t.Errorf("validate.builtin_schema = %v, want clickstream", got)
	}
	for _, inline := range []string{"schema", "json_schema"} {
		if _, ok := uses[0][inline]; ok {
			t.Errorf("validate has an inline %s: a copy of the schema file", inline)
		}
	}
}

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func decodeYAML(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// componentConfigs finds the config of every `<name>: {...}` component in
// a config file.
func componentConfigs(t *testing.T, rel, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if c, ok := x[name].(map[string]any); ok {
				out = append(out, c)
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(decodeYAML(t, readRepoFile(t, rel)))
	return out
}
