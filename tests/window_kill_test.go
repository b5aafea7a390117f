package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/partition"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestWindowKillMidWindowLosesNothing is the crash test of user_stats.yaml
// with window_kafka: offsets are committed only up to what the windows made
// safe, with the resume point in the commit metadata, so a SIGKILL with
// windows open loses nothing and re-emits nothing different; the open
// windows' events are consumed again after the restart.
//
// A separate `pipeline broker` keeps the records and committed offsets; its
// clickstream topic has 3 partitions. Events for six users, two per
// partition, span four 10 s windows A..D of user_stats.yaml (5 s
// lateness), each partition in event-time order. The first run
// (idle_timeout 1h, so windows close only by event time) emits A and B and
// commits that they are written; C and D are open when it is killed. The
// restarted pipeline (idle_timeout 2s) replays from the committed offsets,
// recomputes A and B without emitting them again, and gets the rest of C
// and D. The output topic must hold exactly the produced events per (user,
// window), every record of a window identical, and nothing may go to the
// late or DLQ topics. Both runs
// use the same PIPELINE_INSTANCE_ID (static membership), so the restart
// does not wait a session timeout for the killed member to expire.
func TestWindowKillMidWindowLosesNothing(t *testing.T) {
	addr := startBrokerProcess(t)
	// Windows end in the past so the last ones close as soon as the
	// restarted pipeline goes idle; every timestamp is <= now.
	sc := newKillScenario(time.Now().UTC())
	users, win, want, phase1, phase2 := sc.users, sc.win, sc.want, sc.phase1, sc.phase2
	const partitions = killPartitions

	produceToPartitions(t, addr, "clickstream", phase1...)
	start := func(idle string) *harness.Process {
		return harness.Start(t, "", []string{"KAFKA_BROKERS=" + addr, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t),
			"WINDOW_IDLE_TIMEOUT=" + idle, "PIPELINE_INSTANCE_ID=user-stats-0"}, "-c", exampleConfig("user_stats"))
	}
	first := start("1h")

	// Mid-window: A and B (12 results) are out, C and D are open.
	closed := harness.Consume(t, addr, "user_stats", 2*len(users), 30*time.Second)
	if len(closed) != 2*len(users) {
		late := harness.Consume(t, addr, "user_stats-late", len(phase1), 2*time.Second)
		t.Fatalf("first run emitted %d results within 30s, want the %d of windows A and B (%d events went to user_stats-late)", len(closed), 2*len(users), len(late))
	}
	for _, r := range closed {
		if !strings.Contains(string(r.Key), "|"+win(0).Format(time.RFC3339)+"|") && !strings.Contains(string(r.Key), "|"+win(1).Format(time.RFC3339)+"|") {
			t.Fatalf("first run emitted %s before its window could close", r.Key)
		}
	}
	// Kill only once every partition's committed offset says A and B are
	// written (end of B + 5 s lateness), so the restart must recompute
	// them from its replay without emitting them again.
	writtenAB := sc.win(2).Add(5 * time.Second).UnixNano()
	var rs map[int32]partition.Resume
	if !kafkatest.Every(20*time.Second, 200*time.Millisecond, func() bool {
		rs = harness.CommittedResumes(t, addr, "user-stats", "clickstream")
		done := len(rs) == partitions
		for _, r := range rs {
			done = done && r.Released >= writtenAB
		}
		return done
	}) {
		t.Fatalf("committed resume points %+v before the kill, want all %d partitions released past %s (A and B written)", rs, partitions, time.Unix(0, writtenAB).UTC())
	}
	first.Kill()
	killedAt := time.Now()

	start("2s")
	produceToPartitions(t, addr, "clickstream", phase2...)

	// Poll the output until every window is there with its full count.
	var best map[string]int
	var total int
	var recs []*kgo.Record
	if !kafkatest.Every(60*time.Second, kafkatest.PollInterval, func() bool {
		recs = harness.Consume(t, addr, "user_stats", 1<<20, 1500*time.Millisecond)
		best, total = mostEventsPerWindow(t, recs)
		return equalCounts(best, want)
	}) {
		t.Fatalf("after the restart, most events per window id:\n%s\nwant:\n%s", fmtCounts(best), fmtCounts(want))
	}
	// window_kafka: a replay re-emits a window byte for byte or not at all,
	// so no reader needs the "most events" rule above.
	emitted := map[string]string{}
	for _, r := range recs {
		id := string(r.Key)
		if prev, ok := emitted[id]; ok && prev != string(r.Value) {
			t.Fatalf("window %s emitted twice with different contents:\n%s\n%s", id, prev, r.Value)
		}
		emitted[id] = string(r.Value)
	}
	produced, counted := 0, 0
	for id, n := range want {
		produced += n
		counted += best[id]
	}
	t.Logf("produced %d events on %d partitions in %d (user, window) pairs; counted %d; %d output records, %d duplicates from the replay; all windows out %v after the kill",
		produced, partitions, len(want), counted, total, total-len(want), time.Since(killedAt).Round(100*time.Millisecond))
	for _, topic := range []string{"user_stats-late", "user_stats-dlq"} {
		if got := harness.Consume(t, addr, topic, 1, time.Second); len(got) != 0 {
			t.Fatalf("an event went to %s instead of its window: %s %v", topic, got[0].Value, got[0].Headers)
		}
	}
}

const killPartitions = 3

// killScenario is the event set of the kill tests: windows A..D of 10 s
// ending at base (truncated), six users u<i> on partition i%3, in
// event-time order per partition. Phase 1 has three events per user in A, B
// and C and one in D: every partition's watermark ends at D+1s, which
// closes A and B (allowed lateness 5-10 s), not C or D. Phase 2, for after
// the restart: one more in C (3 s behind its partition, within the
// lateness) and two more in D.
type killScenario struct {
	users          []string
	win            func(i int) time.Time
	want           map[string]int // 10 s window id -> events
	perUser        map[string]int // events per user
	phase1, phase2 []*kgo.Record
}

func newKillScenario(base time.Time) *killScenario {
	w := base.Truncate(10 * time.Second)
	sc := &killScenario{
		users:   []string{"u0", "u1", "u2", "u3", "u4", "u5"},
		win:     func(i int) time.Time { return w.Add(time.Duration(i-4) * 10 * time.Second) }, // A=0 .. D=3
		want:    map[string]int{},
		perUser: map[string]int{},
	}
	add := func(to *[]*kgo.Record, window int, offsets ...time.Duration) {
		for _, off := range offsets {
			for i, u := range sc.users {
				r := harness.KV(u, event(u, "click", sc.win(window).Add(off)))
				r.Partition = int32(i % killPartitions)
				*to = append(*to, r)
				sc.want[fmt.Sprintf("%s|%s|%s", u, sc.win(window).Format(time.RFC3339), sc.win(window+1).Format(time.RFC3339))]++
				sc.perUser[u]++
			}
		}
	}
	for i := 0; i < 3; i++ {
		add(&sc.phase1, i, 1*time.Second, 4*time.Second, 7*time.Second)
	}
	add(&sc.phase1, 3, 1*time.Second)
	add(&sc.phase2, 2, 8*time.Second)
	add(&sc.phase2, 3, 4*time.Second, 7*time.Second)
	return sc
}

// startBrokerProcess runs `pipeline broker` with a data directory, apart
// from the pipeline under test, so killing that leaves the broker up.
func startBrokerProcess(t *testing.T) string {
	t.Helper()
	return harness.StartBrokerProcess(t).Addr
}

// produceToPartitions writes records, in order, to topic on the partition
// each record names.
func produceToPartitions(t *testing.T, addr, topic string, recs ...*kgo.Record) {
	t.Helper()
	for _, r := range recs {
		r.Topic = topic
	}
	kafkatest.Produce(t, addr, recs...)
}

// mostEventsPerWindow de-duplicates user_stats records by key (the window
// id) the way the window buffer's docs tell consumers to: a restart can
// re-emit a window with only the events replayed after the committed
// offset, so per id the record with the most events (here `count`, equal
// to window_events) is the result. It returns that count per window id and
// the number of records.
func mostEventsPerWindow(t *testing.T, recs []*kgo.Record) (map[string]int, int) {
	t.Helper()
	out := map[string]int{}
	for _, r := range recs {
		var v struct {
			Timestamp string `json:"timestamp"`
			UserID    string `json:"user_id"`
			Count     int    `json:"count"`
		}
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("user_stats record %s: %v", r.Value, err)
		}
		if !strings.HasPrefix(string(r.Key), v.UserID+"|"+v.Timestamp+"|") {
			t.Fatalf("user_stats record key %s does not match its value %s", r.Key, r.Value)
		}
		out[string(r.Key)] = max(out[string(r.Key)], v.Count)
	}
	return out, len(recs)
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func fmtCounts(m map[string]int) string {
	var lines []string
	for k, v := range m {
		lines = append(lines, fmt.Sprintf("  %s = %d", k, v))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
