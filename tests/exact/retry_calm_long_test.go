//go:build exactlong

package exact

import "testing"

// TestRetryLadderCountsEveryEventOnce runs the job with an enrichment
// service that fails a fifth of its calls: a failed event climbs the
// ladder (1 s a stage) and comes back into the window stage; one that
// fails four times goes to the DLQ. Every other event must count exactly
// once, in the windows of the reference computed from the events that did
// not end in the DLQ. Long form only: TestRetryLadderThroughKills and
// TestRetryLadderScaleOutAndIn run the same ladder in CI, with crashes.
func TestRetryLadderCountsEveryEventOnce(t *testing.T) {
	runRetryScenario(t, "retry-ladder", nil)
}
