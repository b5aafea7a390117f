package tests

import (
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

// TestRetryKillWhileWaitingInStage SIGKILLs the pipeline while every record
// waits in retry stage 1 (3s delay) and restarts it: each record still
// reaches the success output, no earlier than its due time, and the stage
// offsets were not committed before the records were processed.
//
// A separate `pipeline broker` keeps records and committed offsets across
// the kill. Every user fails its first profile call (so all records go to
// stage 1); odd users also fail the second, so after the restart they pass
// through stage 2 (1s) as well. The kill comes only once the main topic is
// committed: the records then exist only in the stage topic, and the
// restart must deliver them from there. Both runs use the same static
// member ids, so the restart does not wait out the killed member's session.
func TestRetryKillWhileWaitingInStage(t *testing.T) {
	const n = 30
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	broker := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS="},
		"broker", "--broker-port", fmt.Sprint(port), "--data-dir", filepath.Join(t.TempDir(), "data"))
	broker.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
	harness.CreateTopics(t, addr, 2, rtMain, rtStage1, rtStage2)
	harness.CreateTopics(t, addr, 1, rtEnriched, rtDLQ)

	fails := func(u string) int {
		i, _ := strconv.Atoi(u[1:])
		return 1 + i%2
	}
	url, svc := startProfiles(t, fails)
	conf := retryConfigFile(t, retryConf{addr: addr, profiles: url, group: "g-kill", delays: "3s, 1s", instance: "retry-kill-0"})
	first := harness.Start(t, "", nil, "-c", conf)

	users := make([]string, n)
	recs := make([]*kgo.Record, n)
	for i := range users {
		users[i] = fmt.Sprintf("u%02d", i)
		recs[i] = retryEvent(users[i], i)
	}
	harness.Produce(t, addr, rtMain, recs...)

	// All n records wait in stage 1 and the main topic is committed.
	staged := harness.Consume(t, addr, rtStage1, n, 15*time.Second)
	if len(staged) != n {
		t.Fatalf("%d of %d records reached %s", len(staged), n, rtStage1)
	}
	firstDue := int64(1 << 62)
	for _, r := range staged {
		due, _ := headerMs(t, r, "retry_due_ms")
		firstDue = min(firstDue, due)
	}
	kafkatest.Eventually(t, 10*time.Second, "main topic offsets committed after the stage writes", func() bool {
		return harness.CommittedOffsets(t, addr, "g-kill", rtMain) >= n
	})
	// retry_topics holds both stage partitions, so it is fetching the
	// stage records into its gate.
	kafkatest.Eventually(t, 10*time.Second, "retry_topics holding both partitions of "+rtStage1, func() bool {
		return kafkatest.Assigned(t, addr, "g-kill-retry", rtStage1) == 2
	})
	first.Kill()
	killedAt := time.Now().UnixMilli()
	if killedAt >= firstDue {
		t.Fatalf("killed %dms after the first record was due: too slow to kill while records wait", killedAt-firstDue)
	}
	if c := harness.CommittedOffsets(t, addr, "g-kill-retry", rtStage1); c != 0 {
		t.Fatalf("%s committed at %d before any of its records was due", rtStage1, c)
	}
	if got := harness.Consume(t, addr, rtEnriched, 1, 500*time.Millisecond); len(got) != 0 {
		t.Fatalf("a record reached the output before it was due: %s", got[0].Value)
	}

	harness.Start(t, "", nil, "-c", conf)
	events := waitEnriched(t, addr, users, 25*time.Second)
	firstOut := map[string]enrichedEvent{}
	for _, e := range events {
		if _, ok := firstOut[e.user]; !ok {
			firstOut[e.user] = e
		}
	}
	var uniq []enrichedEvent
	for _, u := range users {
		e := firstOut[u]
		if e.attempt != fails(u) {
			t.Errorf("%s delivered after %d failures, want %d", u, e.attempt, fails(u))
		}
		assertCallsAfterDue(t, svc, e)
		uniq = append(uniq, e)
	}
	d := stageDelays(t, uniq)
	assertEmpty(t, addr, rtDLQ)

	// The restarted member commits the stage offsets once processed.
	kafkatest.Eventually(t, 10*time.Second, rtStage1+" offsets committed after the restart delivered them", func() bool {
		return harness.CommittedOffsets(t, addr, "g-kill-retry", rtStage1) >= n
	})
	t.Logf("killed %dms before the first due time; %d output records for %d events; release delay per stage:\n%s",
		firstDue-killedAt, len(events), n, delayTable(d))
}
