package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/streamkit/pipeline/tests/harness"
)

// `pipeline dlq replay` runs the config embedded in cmd/pipeline; the copy
// in configs/ is what users run and edit. They must not drift apart.
func TestDLQReplayConfigMatchesTheCLIs(t *testing.T) {
	read := func(rel ...string) string {
		b, err := os.ReadFile(filepath.Join(append([]string{harness.RepoRoot()}, rel...)...))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if read("configs", "dlq_replay.yaml") != read("cmd", "pipeline", "dlq_replay.yaml") {
		t.Fatal("configs/dlq_replay.yaml differs from cmd/pipeline/dlq_replay.yaml (copy it over)")
	}
}
