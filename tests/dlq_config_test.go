package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/streamkit/pipeline/plugins/dlq"
	"github.com/streamkit/pipeline/tests/harness"
)

// `pipeline dlq replay` runs the config embedded in plugins/dlq; the copy in
// configs/ is what users run and edit. They must not drift apart.
func TestDLQReplayConfigMatchesTheCLIs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "configs", "dlq_replay.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != dlq.ReplayConfig {
		t.Fatal("configs/dlq_replay.yaml differs from plugins/dlq/dlq_replay.yaml (copy it over)")
	}
}
