package exact

import (
	"testing"
	"time"
)

// TestRetryLadderThroughKills is TestRetryLadderCountsEveryEventOnce with
// two SIGKILLs: events on the retry ladder when the job dies, copies that
// come back before their partition's replay, exhausted retries around the
// kill, and a replay that re-runs enrichment with other outcomes. Every
// window must still be what the reference computes from the events that
// did not end in the DLQ (before issue 12's ladder hold: ~230 events
// missing, ~140 over-counted, ~400 on-time events routed late).
func TestRetryLadderThroughKills(t *testing.T) {
	runRetryScenario(t, "retry-ladder-kills", []time.Duration{70 * time.Second, 140 * time.Second})
}
