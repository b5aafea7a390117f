package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/streamkit/pipeline/internal/meta"
)

// corpusItem mirrors an entry of tests/corpus/corpus.json.
type corpusItem struct {
	File     string   `json:"file"`
	KafkaKey *string  `json:"kafka_key"`
	Valid    bool     `json:"valid"`
	Class    string   `json:"class"`
	Rules    []string `json:"rules"`
	Reason   string   `json:"reason"`
}

func loadCorpus(t *testing.T) []corpusItem {
	t.Helper()
	b, err := os.ReadFile("../../tests/corpus/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Items []corpusItem `json:"items"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Items) < 12 {
		t.Fatalf("corpus has only %d items", len(m.Items))
	}
	return m.Items
}

func TestCorpusThroughClickstreamSchema(t *testing.T) {
	v := clickstream(t)
	for _, it := range loadCorpus(t) {
		t.Run(it.File, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("../../tests/corpus", it.File))
			if err != nil {
				t.Fatal(err)
			}
			res := v.Validate(raw)
			if it.Valid {
				if len(res.Violations) != 0 {
					t.Fatalf("expected valid, got %v", res.Violations)
				}
				return
			}
			if it.Class != meta.ClassValidation {
				t.Fatalf("manifest class %q; validation failures are class %q", it.Class, meta.ClassValidation)
			}
			got := []string{}
			for _, vi := range res.Violations {
				got = append(got, vi.Rule)
			}
			if !reflect.DeepEqual(got, it.Rules) {
				t.Errorf("rules %v, want %v (%v)", got, it.Rules, res.Violations)
			}
			if msg := res.Violations.Error(); !strings.Contains(msg, it.Reason) {
				t.Errorf("error %q lacks %q", msg, it.Reason)
			}
		})
	}
}
