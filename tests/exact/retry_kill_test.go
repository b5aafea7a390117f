//go:build exactretry

package exact

import (
	"testing"
	"time"
)

// TestRetryLadderThroughKills is issue 12's open case, kept as its
// reproducer (build tag exactretry, so no ordinary run takes it):
//
//	PIPELINE_BIN=$PWD/bin/pipeline go test -count=1 -v -tags exactretry -run '^TestRetryLadderThroughKills' ./tests/exact/
//
// It is TestRetryLadderCountsEveryEventOnce with two SIGKILLs. It fails
// today (2026-12-02: ~230 events missing, ~140 over-counted, ~400 on-time
// events routed late): after a restart the partition replays from its
// committed offset at full speed and its watermark runs ahead, while the
// events waiting on the retry ladder come back at their due time, behind
// it by more than allowed_lateness. Exactness needs the partition's
// watermark held while its events are on the ladder, and that hold kept
// across restarts (the commit metadata, or a scan of the retry topics on
// assignment).
func TestRetryLadderThroughKills(t *testing.T) {
	runRetryScenario(t, "retry-ladder-kills", []time.Duration{70 * time.Second, 140 * time.Second})
}
