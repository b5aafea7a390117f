package tests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/streamkit/pipeline/tests/harness"
	"gopkg.in/yaml.v3"
)

// The clickstream event schema is written out in three places: the main
// job, the /track API and the file the validate plugin's tests and fuzzer
// use. They must describe the same event. (The API's copy is the track_api
// input's schema, checked by TestTrackAPISchemaIsTheClickstreamEvent.)
func TestClickstreamSchemaCopiesAgree(t *testing.T) {
	fromFile := decodeYAML(t, readRepoFile(t, "plugins/validate/schemas/clickstream.yaml"))
	want := fromFile.(map[string]any)["fields"]

	main := validateSchemas(t, "configs/clickstream.yaml")
	if len(main) != 1 {
		t.Fatalf("configs/clickstream.yaml has %d validate schemas, want 1", len(main))
	}
	if got := main[0].(map[string]any)["fields"]; !reflect.DeepEqual(got, want) {
		t.Errorf("configs/clickstream.yaml's schema differs from plugins/validate/schemas/clickstream.yaml:\n%v\n%v", got, want)
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

// validateSchemas finds every `validate: {schema: ...}` in a config.
func validateSchemas(t *testing.T, rel string) []any {
	t.Helper()
	var out []any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if val, ok := x["validate"].(map[string]any); ok {
				if s, ok := val["schema"].(string); ok {
					out = append(out, decodeYAML(t, s))
				}
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
