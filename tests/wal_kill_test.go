package tests

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/streamkit/pipeline/tests/harness"
)

// TestClickstreamWALKillLosesNothing kills the main job (kill -9) while its
// 10 s windows C and D and every 30 min session are open, with the window
// write-ahead log on (WINDOW_WAL_DIR, as `pipeline` sets it next to the
// embedded broker's data). With the log, inputs are acknowledged once
// logged, so before the kill every offset is committed: the restart gets
// none of those events from Kafka again, and the open windows can only be
// complete if they come back from the log. The output, de-duplicated per
// window id by most events, must hold exactly the produced events per
// (user, 10 s window) and per user session, never more (a redelivered
// event counted twice would show), and nothing may go late or to the DLQ.
func TestClickstreamWALKillLosesNothing(t *testing.T) {
	addr := startBrokerProcess(t)
	url, _ := startProfileService(t, profileservice.Options{})
	walDir := filepath.Join(t.TempDir(), "window-wal")
	// Two hours old: the restarted job's idle_timeout then lets the
	// watermark jump to the wall clock, which closes C, D and the sessions.
	sc := newKillScenario(time.Now().UTC().Add(-2 * time.Hour))
	users, want, perUser, phase1, phase2 := sc.users, sc.want, sc.perUser, sc.phase1, sc.phase2

	produceToPartitions(t, addr, "clickstream", phase1...)
	start := func(idle string) *harness.Process {
		return harness.Start(t, "", []string{"KAFKA_BROKERS=" + addr, "PROFILE_URL=" + url,
			"PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t), "WINDOW_IDLE_TIMEOUT=" + idle,
			"WINDOW_WAL_DIR=" + walDir, "PIPELINE_INSTANCE_ID=clickstream-0"}, "-c", legacyConfig(t, clickstreamConfig))
	}
	first := start("1h")
	closed := harness.Consume(t, addr, "user_stats", 2*len(users), 30*time.Second)
	if len(closed) != 2*len(users) {
		t.Fatalf("first run emitted %d results within 30s, want the %d of windows A and B", len(closed), 2*len(users))
	}
	// Everything is acknowledged once logged: all of phase 1 gets committed
	// although C, D and the sessions are open.
	all := int64(len(phase1))
	kafkatest.Every(20*time.Second, 200*time.Millisecond, func() bool {
		return harness.CommittedOffsets(t, addr, "clickstream-windows", "clickstream") >= all
	})
	if got := harness.CommittedOffsets(t, addr, "clickstream-windows", "clickstream"); got != all {
		t.Fatalf("committed offsets sum to %d before the kill, want %d: with the log every logged event is acknowledged", got, all)
	}
	segs, _ := filepath.Glob(filepath.Join(walDir, "wal-*.log"))
	if len(segs) == 0 {
		t.Fatalf("no log segment in %s", walDir)
	}
	first.Kill()

	// Phase 2 is waiting when the job restarts: the replayed windows would
	// otherwise go idle and close before the consumer has rejoined.
	produceToPartitions(t, addr, "clickstream", phase2...)
	start("5s")

	var tens map[string]int
	sessions := map[string]int{}
	kafkatest.Every(60*time.Second, time.Millisecond, func() bool {
		recs := harness.Consume(t, addr, "user_stats", 1<<20, 1500*time.Millisecond)
		tens, sessions = map[string]int{}, map[string]int{}
		for _, r := range decodeResults(t, recs) {
			if r.Window == "user_session" {
				sessions[r.UserID] = max(sessions[r.UserID], r.Events)
				continue
			}
			id := r.UserID + "|" + r.WindowStart + "|" + r.WindowEnd
			tens[id] = max(tens[id], r.Events)
		}
		return equalCounts(tens, want) && equalCounts(sessions, perUser)
	})
	if !equalCounts(tens, want) {
		t.Fatalf("10 s windows after the restart, most events per window id:\n%s\nwant:\n%s", fmtCounts(tens), fmtCounts(want))
	}
	if !equalCounts(sessions, perUser) {
		t.Fatalf("sessions after the restart, most events per user:\n%s\nwant:\n%s", fmtCounts(sessions), fmtCounts(perUser))
	}
	for _, topic := range []string{"clickstream-late", "clickstream-dlq"} {
		if got := harness.Consume(t, addr, topic, 1, time.Second); len(got) != 0 {
			t.Fatalf("an event went to %s: %s %v", topic, got[0].Value, got[0].Headers)
		}
	}
	// Every window was written: only the active segment (positions) is left.
	kafkatest.Every(10*time.Second, 200*time.Millisecond, func() bool {
		segs, _ = filepath.Glob(filepath.Join(walDir, "wal-*.log"))
		return len(segs) <= 1
	})
	if len(segs) != 1 {
		t.Fatalf("log segments left after every window was written (only the active one should be): %s", strings.Join(segs, ", "))
	}
}
