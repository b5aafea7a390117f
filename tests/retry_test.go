package tests

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/streamkit/pipeline/tests/harness"
)

// End-to-end tests of non-blocking retries through the binary: the
// `redpanda` input on the main topic and `retry_topics` on the stage
// topics feed one http enrichment (against an in-process profileservice
// with injected failures) and the `retry_router` output.

var retryEvents = flag.Int("retry.events", 1000, "events in TestRetryReleaseDelay (200 with -short)")

// Topics of every retry test; each test has its own broker.
const (
	rtMain     = "events"
	rtStage1   = "events-retry-1"
	rtStage2   = "events-retry-2"
	rtEnriched = "events-enriched"
	rtDLQ      = "events-dlq"
)

type retryConf struct {
	addr, profiles, group string
	delays                string // YAML list body, e.g. "1s, 2s"
	ordering              string // "none" or "key"
	instance              string // static membership id; "" = dynamic
}

// retryConfigFile writes the stream config and returns its path. Every
// message released from stage n records that release in metadata
// s<n>_due_ms / s<n>_released_ms, which travel on as headers (to the next
// stage and to the success output), so the output shows each stage's
// release delay.
func retryConfigFile(t *testing.T, c retryConf) string {
	t.Helper()
	if c.ordering == "" {
		c.ordering = "none"
	}
	instance := func(suffix string) string {
		if c.instance == "" {
			return ""
		}
		return "instance_id: " + c.instance + suffix
	}
	yaml := fmt.Sprintf(`
http:
  address: %[1]s
logger:
  level: warn
input:
  broker:
    inputs:
      - redpanda:
          seed_brokers: [ %[2]s ]
          topics: [ %[5]s ]
          consumer_group: %[3]s
          commit_period: 100ms
          %[11]s
      - retry_topics:
          seed_brokers: [ %[2]s ]
          topics: [ %[6]s, %[7]s ]
          consumer_group: %[3]s-retry
          commit_period: 100ms
          %[12]s
pipeline:
  processors:
    - switch:
        - check: '@kafka_topic == "%[6]s"'
          processors:
            - mutation: |
                meta s1_due_ms = @retry_due_ms
                meta s1_released_ms = @retry_released_ms
        - check: '@kafka_topic == "%[7]s"'
          processors:
            - mutation: |
                meta s2_due_ms = @retry_due_ms
                meta s2_released_ms = @retry_released_ms
    - branch:
        request_map: 'root = this'
        processors:
          - http:
              url: %[4]s/profiles/${! json("user_id") }
              verb: GET
              retries: 0
        result_map: 'root.profile = this'
output:
  retry_router:
    delays: [ %[10]s ]
    topics: [ %[6]s, %[7]s ]
    ordering: %[13]s
    output:
      redpanda:
        seed_brokers: [ %[2]s ]
        topic: %[8]s
        key: ${! @kafka_key }
        metadata:
          include_patterns: [ ".*" ]
    retry:
      redpanda:
        seed_brokers: [ %[2]s ]
        topic: ${! @retry_topic }
        key: ${! @retry_key.or("") }
        metadata:
          include_patterns: [ ".*" ]
    dlq:
      redpanda:
        seed_brokers: [ %[2]s ]
        topic: %[9]s
        metadata:
          include_patterns: [ ".*" ]
`, harness.FreeAddr(t), c.addr, c.group, c.profiles, rtMain, rtStage1, rtStage2, rtEnriched, rtDLQ,
		c.delays, instance(""), instance("-retry"), c.ordering)
	path := filepath.Join(t.TempDir(), "retry.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startProfiles serves a profileservice in the test process; failFirst says
// how many leading calls fail (503) per user id.
func startProfiles(t *testing.T, failFirst func(id string) int) (string, *profileservice.Service) {
	t.Helper()
	url, svc, stop, err := profileservice.Start("127.0.0.1:0", profileservice.Options{FailFirst: failFirst})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, svc
}

func retryEvent(user string, seq int) *kgo.Record {
	return harness.KV(user, fmt.Sprintf(`{"user_id":%q,"seq":%d}`, user, seq))
}

// enrichedEvent is a success-output record, decoded.
type enrichedEvent struct {
	rec     *kgo.Record
	user    string
	seq     int
	attempt int // failed attempts before the success
}

func decodeEnriched(t *testing.T, r *kgo.Record) enrichedEvent {
	t.Helper()
	var body struct {
		UserID  string                 `json:"user_id"`
		Seq     int                    `json:"seq"`
		Profile profileservice.Profile `json:"profile"`
	}
	if err := json.Unmarshal(r.Value, &body); err != nil {
		t.Fatalf("output record %q: %v", r.Value, err)
	}
	if body.Profile != profileservice.ProfileFor(body.UserID) {
		t.Fatalf("output record not enriched: %s", r.Value)
	}
	e := enrichedEvent{rec: r, user: body.UserID, seq: body.Seq}
	if a := harness.Header(r, "retry_attempt"); a != "" {
		e.attempt, _ = strconv.Atoi(a)
	}
	return e
}

// waitEnriched polls the success output until every user in want has
// arrived at least once, and returns all output records in offset order.
func waitEnriched(t *testing.T, addr string, want []string, timeout time.Duration) []enrichedEvent {
	t.Helper()
	var out []enrichedEvent
	var missing []string
	if kafkatest.Every(timeout, time.Millisecond, func() bool {
		recs := harness.Consume(t, addr, rtEnriched, len(want), time.Second)
		seen := map[string]bool{}
		for _, r := range recs {
			seen[decodeEnriched(t, r).user] = true
		}
		missing = missing[:0]
		for _, u := range want {
			if !seen[u] {
				missing = append(missing, u)
			}
		}
		return len(missing) == 0
	}) {
		// Whatever else is there (duplicates from a replay).
		for _, r := range harness.Consume(t, addr, rtEnriched, 1<<20, time.Second) {
			out = append(out, decodeEnriched(t, r))
		}
		return out
	}
	t.Fatalf("after %v, %d of %d events missing from %s, e.g. %v", timeout, len(missing), len(want), rtEnriched, missing[:min(5, len(missing))])
	return nil
}

func headerMs(t *testing.T, r *kgo.Record, k string) (int64, bool) {
	t.Helper()
	v := harness.Header(r, k)
	if v == "" {
		return 0, false
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("header %s = %q: %v", k, v, err)
	}
	return ms, true
}

// stageDelays returns, per stage (1, 2), the release delay (released − due,
// ms) of every output record that went through it, and fails the test on
// a release before its due time or a missing stage record.
func stageDelays(t *testing.T, events []enrichedEvent) map[int][]int64 {
	t.Helper()
	out := map[int][]int64{}
	for _, e := range events {
		for stage := 1; stage <= 2; stage++ {
			due, okDue := headerMs(t, e.rec, fmt.Sprintf("s%d_due_ms", stage))
			rel, okRel := headerMs(t, e.rec, fmt.Sprintf("s%d_released_ms", stage))
			if okDue != okRel || okDue != (e.attempt >= stage) {
				t.Fatalf("%s (attempt %d): stage %d release headers due=%v released=%v", e.user, e.attempt, stage, okDue, okRel)
			}
			if !okDue {
				continue
			}
			if rel < due {
				t.Errorf("%s released from stage %d %dms before its due time", e.user, stage, due-rel)
			}
			out[stage] = append(out[stage], rel-due)
		}
	}
	return out
}

// delayTable formats min/median/max per stage.
func delayTable(d map[int][]int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %6s %8s %10s %8s\n", "stage", "n", "min ms", "median ms", "max ms")
	for stage := 1; stage <= 2; stage++ {
		v := append([]int64(nil), d[stage]...)
		if len(v) == 0 {
			fmt.Fprintf(&b, "%-6d %6d %8s %10s %8s\n", stage, 0, "-", "-", "-")
			continue
		}
		sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
		fmt.Fprintf(&b, "%-6d %6d %8d %10d %8d\n", stage, len(v), v[0], v[len(v)/2], v[len(v)-1])
	}
	return b.String()
}

// assertCallsAfterDue checks, from the profile service's side, that each
// retry call of a user came no earlier than the stage's due time.
func assertCallsAfterDue(t *testing.T, svc *profileservice.Service, e enrichedEvent) {
	t.Helper()
	calls := svc.CallTimes(e.user)
	for stage := 1; stage <= e.attempt; stage++ {
		due, _ := headerMs(t, e.rec, fmt.Sprintf("s%d_due_ms", stage))
		if len(calls) <= stage {
			t.Fatalf("%s: %d profile calls, want more than %d", e.user, len(calls), stage)
		}
		if at := calls[stage].UnixMilli(); at < due {
			t.Errorf("%s: call %d at %d, %dms before stage %d was due", e.user, stage+1, at, due-at, stage)
		}
	}
}

func assertEmpty(t *testing.T, addr, topic string) {
	t.Helper()
	if got := harness.Consume(t, addr, topic, 1, time.Second); len(got) != 0 {
		t.Fatalf("%s is not empty: %s %v", topic, got[0].Value, got[0].Headers)
	}
}

// TestRetryReleaseDelay is the release-delay measurement: N events
// (-retry.events, default 1000, 200 with -short) with stage delays 1s and
// 2s, even users failing once and odd users twice. Every event must reach
// the success output, nothing the DLQ, and no stage may release a record
// before its due time. The per-stage table of (release − due) is logged
// (run with -v to see it).
func TestRetryReleaseDelay(t *testing.T) {
	n := *retryEvents
	if testing.Short() && n > 200 {
		n = 200
	}
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 2, rtMain, rtStage1, rtStage2)
	harness.CreateTopics(t, addr, 1, rtEnriched, rtDLQ)
	url, svc := startProfiles(t, func(id string) int {
		i, _ := strconv.Atoi(strings.TrimPrefix(id, "u"))
		return 1 + i%2
	})
	harness.Start(t, "", nil, "-c", retryConfigFile(t, retryConf{addr: addr, profiles: url, group: "g-delay", delays: "1s, 2s"}))

	users := make([]string, n)
	recs := make([]*kgo.Record, n)
	for i := range users {
		users[i] = fmt.Sprintf("u%04d", i)
		recs[i] = retryEvent(users[i], i)
	}
	start := time.Now()
	harness.Produce(t, addr, rtMain, recs...)
	events := waitEnriched(t, addr, users, 60*time.Second)
	took := time.Since(start)

	first := map[string]enrichedEvent{}
	for _, e := range events {
		if _, ok := first[e.user]; !ok {
			first[e.user] = e
		}
	}
	var uniq []enrichedEvent
	for _, u := range users {
		e := first[u]
		i, _ := strconv.Atoi(strings.TrimPrefix(u, "u"))
		if e.attempt != 1+i%2 {
			t.Errorf("%s delivered after %d failures, want %d", u, e.attempt, 1+i%2)
		}
		assertCallsAfterDue(t, svc, e)
		uniq = append(uniq, e)
	}
	d := stageDelays(t, uniq)
	if len(d[1]) != n || len(d[2]) != n/2 {
		t.Errorf("stage releases: %d through stage 1, %d through stage 2; want %d and %d", len(d[1]), len(d[2]), n, n/2)
	}
	assertEmpty(t, addr, rtDLQ)
	t.Logf("%d events (%d output records) in %v; release delay (released − due) per stage:\n%s",
		n, len(events), took.Round(10*time.Millisecond), delayTable(d))
}

// TestRetryOrderingKeyKeepsOrderPerKey runs `ordering: key`: while a key
// has a record in retry, its later records take the retry path behind it
// (they are parked on the stage topic) and reach the success output after
// it, in produce order; a key with nothing in retry is not held up.
//
// Key A: a1 fails once, a2..a4 would succeed but must wait behind a1.
// Key C: c1 succeeds, c2 fails once, c3 waits behind c2.
// Key B: never fails and is out before a1's retry is due.
func TestRetryOrderingKeyKeepsOrderPerKey(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, rtMain, rtStage1, rtStage2, rtEnriched, rtDLQ)
	url, _ := startProfiles(t, func(id string) int {
		if id == "a1" || id == "c2" {
			return 1
		}
		return 0
	})
	harness.Start(t, "", nil, "-c", retryConfigFile(t, retryConf{addr: addr, profiles: url, group: "g-order", delays: "1s, 1s", ordering: "key"}))

	keyed := func(key, user string, seq int) *kgo.Record {
		r := retryEvent(user, seq)
		r.Key = []byte(key)
		return r
	}
	order := map[string][]string{"A": {"a1", "a2", "a3", "a4"}, "C": {"c1", "c2", "c3"}, "B": {"b1", "b2", "b3"}}
	var recs []*kgo.Record
	var users []string
	for _, key := range []string{"A", "C", "B"} {
		for i, u := range order[key] {
			recs = append(recs, keyed(key, u, i+1))
			users = append(users, u)
		}
	}
	harness.Produce(t, addr, rtMain, recs...)
	events := waitEnriched(t, addr, users, 25*time.Second)

	// Per key, the output (offset order, duplicates allowed) never goes
	// back to an earlier record than one already delivered.
	got := map[string][]string{}
	pos := map[string]int64{}
	for _, e := range events {
		key := string(e.rec.Key)
		got[key] = append(got[key], e.user)
		if _, ok := pos[e.user]; !ok {
			pos[e.user] = e.rec.Offset
		}
	}
	for key, want := range order {
		last := 0
		for _, u := range got[key] {
			seq := indexOf(want, u) + 1
			if seq < last {
				t.Fatalf("key %s out of order at the output: %v, want %v", key, got[key], want)
			}
			last = seq
		}
	}
	if pos["b3"] > pos["a1"] {
		t.Errorf("key B waited for key A's retry: output %v", got)
	}

	// a2..a4 and c3 were parked on the stage topic behind their heads;
	// b* and c1 never touched it.
	parked := map[string]int{}
	for _, r := range harness.Consume(t, addr, rtStage1, 1<<20, 2*time.Second) {
		var body struct {
			UserID string `json:"user_id"`
		}
		_ = json.Unmarshal(r.Value, &body)
		parked[body.UserID]++
	}
	for _, u := range []string{"a1", "a2", "a3", "a4", "c2", "c3"} {
		if parked[u] == 0 {
			t.Errorf("%s never went to %s: %v", u, rtStage1, parked)
		}
	}
	for _, u := range []string{"b1", "b2", "b3", "c1"} {
		if parked[u] != 0 {
			t.Errorf("%s went to %s although nothing of its key was in retry", u, rtStage1)
		}
	}
	assertEmpty(t, addr, rtDLQ)
	t.Logf("output per key: %v; stage-1 writes per record: %v", got, parked)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -100
}
