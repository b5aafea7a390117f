package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// The engine is the window algebra in plain Go: nothing it imports, however
// indirectly, may be Benthos (or Redpanda Connect), so it can be tested,
// benchmarked and reused without a stream. The compiler would accept such
// an import; this test does not.
func TestEngineImportsNoBenthos(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	self := false
	for _, p := range deps {
		if strings.HasSuffix(p, "/plugins/window/engine") {
			self = true
		}
		if strings.Contains(p, "benthos") || strings.Contains(p, "redpanda-data/connect") {
			t.Errorf("the engine depends on %s; the algebra must not import Benthos (the adapter in plugins/window does)", p)
		}
	}
	if !self {
		t.Fatalf("go list -deps did not list the engine package itself: %q", out)
	}
}
