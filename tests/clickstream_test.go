package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

var clickstreamConfig = envOr("CLICKSTREAM_CONFIG", "configs/clickstream.yaml")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// event is a clickstream event as the seeds' producers write it.
func event(user, typ string, ts time.Time) string {
	return pageEvent(user, typ, "/search", ts)
}

func pageEvent(user, typ, page string, ts time.Time) string {
	return fmt.Sprintf(`{"event_type":%q,"user_id":%q,"action":"view","timestamp":%q,"metadata":{"session_id":"s-%s","page":%q,"item_id":"05efee91","user_agent":"test"}}`,
		typ, user, ts.UTC().Format("2006-01-02T15:04:05.000000"), user, page)
}

// startProfileService runs the user-profile service in the test process.
func startProfileService(t *testing.T, o profileservice.Options) (string, *profileservice.Service) {
	t.Helper()
	url, svc, stop, err := profileservice.Start("127.0.0.1:0", o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return url, svc
}

// runClickstream starts the binary on the main config against addr with a
// profile service that never fails. Windows close 1s after the input goes
// quiet, so fixed event sets in the past come out promptly. The window
// write-ahead log is on, as `pipeline` runs the job beside its broker.
func runClickstream(t *testing.T, addr string, extraEnv ...string) *harness.Process {
	t.Helper()
	url, _ := startProfileService(t, profileservice.Options{})
	env := append([]string{"KAFKA_BROKERS=" + addr, "PROFILE_URL=" + url, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t),
		"WINDOW_IDLE_TIMEOUT=1s", "WINDOW_WAL_DIR=" + t.TempDir()}, extraEnv...)
	return harness.Start(t, "", env, "-c", clickstreamConfig)
}

// windowResult is one record of user_stats.
type windowResult struct {
	UserID       string         `json:"user_id"`
	Window       string         `json:"window"`
	WindowStart  string         `json:"window_start"`
	WindowEnd    string         `json:"window_end"`
	Events       int            `json:"events"`
	DistinctPage int            `json:"distinct_pages"`
	ByEventType  map[string]int `json:"by_event_type"`
	Segment      string         `json:"segment"`
	Start        string         `json:"start"`
	End          string         `json:"end"`
	Duration     float64        `json:"duration"`
	Pages        []string       `json:"pages"`
}

func decodeResults(t *testing.T, recs []*kgo.Record) []windowResult {
	t.Helper()
	var out []windowResult
	for _, r := range recs {
		var w windowResult
		if err := json.Unmarshal(r.Value, &w); err != nil {
			t.Fatalf("user_stats record %s: %v", r.Value, err)
		}
		out = append(out, w)
	}
	return out
}

// tenSecondEvents sums the events of the user_10s results.
func tenSecondEvents(rs []windowResult) int {
	n := 0
	for _, r := range rs {
		if r.Window == "user_10s" {
			n += r.Events
		}
	}
	return n
}

func TestClickstreamConfigEndToEnd(t *testing.T) {
	addr := harness.StartBroker(t)
	// One partition: the watermark, and so which event is late, follows
	// the produce order exactly. The retry topics are co-partitioned with
	// it (window_kafka's retry_topics).
	harness.CreateTopics(t, addr, 1, "clickstream", "clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3")
	base := time.Date(2024, 6, 27, 15, 43, 40, 0, time.UTC)
	at := func(s int) time.Time { return base.Add(time.Duration(s) * time.Second) }
	late := harness.KV("u1", pageEvent("u1", "click", "/d", at(4)))
	bad := []*kgo.Record{
		harness.KV("u3", `{"event_type":"click","action":"view","timestamp":"2024-06-27T15:43:41"}`),
		harness.KV("u4", pageEvent("u4", "hover", "/x", at(2))),
		harness.KV("u5", `{"event_type":"click","user_id":"u5`),
	}
	recs := []*kgo.Record{
		harness.KV("u1", pageEvent("u1", "page_view", "/a", at(1))),
		harness.KV("u2", pageEvent("u2", "click", "/b", at(2))),
		harness.KV("u1", pageEvent("u1", "click", "/b", at(5))),
		harness.KV("u1", pageEvent("u1", "scroll", "/a", at(3))), // out of order, within lateness
	}
	recs = append(recs, bad...)
	recs = append(recs, harness.KV("u2", pageEvent("u2", "page_view", "/c", at(25))), late) // 25s closes [40s,50s): the next is late
	harness.Produce(t, addr, "clickstream", recs...)

	runClickstream(t, addr)

	segment := func(u string) string { return profileservice.ProfileFor(u).Segment }
	got := decodeResults(t, harness.ConsumeExactly(t, addr, "user_stats", 5, 45*time.Second))
	sort.Slice(got, func(i, j int) bool {
		return got[i].Window+got[i].UserID+got[i].WindowStart < got[j].Window+got[j].UserID+got[j].WindowStart
	})
	want := []windowResult{
		{UserID: "u1", Window: "user_10s", WindowStart: "2024-06-27T15:43:40Z", WindowEnd: "2024-06-27T15:43:50Z", Events: 3, DistinctPage: 2,
			ByEventType: map[string]int{"page_view": 1, "click": 1, "scroll": 1}, Segment: segment("u1")},
		{UserID: "u2", Window: "user_10s", WindowStart: "2024-06-27T15:43:40Z", WindowEnd: "2024-06-27T15:43:50Z", Events: 1, DistinctPage: 1,
			ByEventType: map[string]int{"click": 1}, Segment: segment("u2")},
		{UserID: "u2", Window: "user_10s", WindowStart: "2024-06-27T15:44:00Z", WindowEnd: "2024-06-27T15:44:10Z", Events: 1, DistinctPage: 1,
			ByEventType: map[string]int{"page_view": 1}, Segment: segment("u2")},
		{UserID: "u1", Window: "user_session", Start: "2024-06-27T15:43:41Z", End: "2024-06-27T15:43:45Z", Duration: 4, Events: 4,
			Pages: []string{"/a", "/a", "/d", "/b"}},
		{UserID: "u2", Window: "user_session", Start: "2024-06-27T15:43:42Z", End: "2024-06-27T15:44:05Z", Duration: 23, Events: 2,
			Pages: []string{"/b", "/c"}},
	}
	if g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want); g != w {
		t.Fatalf("user_stats:\n got  %s\n want %s", g, w)
	}

	lateRecs := harness.ConsumeExactly(t, addr, "clickstream-late", 1, 10*time.Second)
	if string(lateRecs[0].Value) != string(late.Value) || string(lateRecs[0].Key) != "u1" ||
		harness.Header(lateRecs[0], "window_late") != "true" || harness.Header(lateRecs[0], "window_name") != "user_10s" {
		t.Fatalf("late record %s key %s headers %v", lateRecs[0].Value, lateRecs[0].Key, lateRecs[0].Headers)
	}

	dlq := harness.ConsumeExactly(t, addr, "clickstream-dlq", len(bad), 10*time.Second)
	// Unordered processing may write them in any order.
	sort.Slice(dlq, func(i, j int) bool {
		return harness.Header(dlq[i], "dlq_original_offset") < harness.Header(dlq[j], "dlq_original_offset")
	})
	reasons := map[string]string{"u3": "user_id: required", "u4": "event_type", "u5": "JSON"}
	for i, r := range dlq {
		k := string(r.Key)
		if !strings.Contains(harness.Header(r, "dlq_error"), reasons[k]) || harness.Header(r, "dlq_error_class") != "validation" ||
			harness.Header(r, "dlq_original_topic") != "clickstream" || harness.Header(r, "dlq_original_offset") != fmt.Sprint(4+i) {
			t.Errorf("DLQ record %d key %s: headers %v", i, k, r.Headers)
		}
		if string(r.Value) != string(bad[i].Value) {
			t.Errorf("DLQ record %d: value %s, want the original bytes %s", i, r.Value, bad[i].Value)
		}
	}
	for _, topic := range []string{"clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3"} {
		if n := len(harness.Consume(t, addr, topic, 1, time.Second)); n != 0 {
			t.Errorf("%s has %d records; the profile service never failed", topic, n)
		}
	}
}

// Each user's first profile call fails: that event takes clickstream-retry-1
// and is still counted in its window when it comes back a second later.
func TestClickstreamRetriesFailedEnrichment(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3")
	url, svc := startProfileService(t, profileservice.Options{FailFirstN: 1})
	base := time.Date(2024, 6, 27, 15, 43, 40, 0, time.UTC)
	users := []string{"u1", "u2", "u3"}
	var recs []*kgo.Record
	for i := 0; i < 9; i++ {
		u := users[i%3]
		recs = append(recs, harness.KV(u, event(u, "click", base.Add(time.Duration(i)*time.Second))))
	}
	harness.Produce(t, addr, "clickstream", recs...)
	harness.Start(t, "", []string{"KAFKA_BROKERS=" + addr, "PROFILE_URL=" + url, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t),
		"WINDOW_IDLE_TIMEOUT=5s"}, "-c", clickstreamConfig)

	retried := harness.ConsumeExactly(t, addr, "clickstream-retry-1", len(users), 30*time.Second)
	for _, r := range retried {
		if harness.Header(r, "retry_attempt") != "1" || harness.Header(r, "retry_original_topic") != "clickstream" {
			t.Errorf("retry record %s: headers %v", r.Key, r.Headers)
		}
	}
	got := decodeResults(t, harness.Consume(t, addr, "user_stats", 6, 45*time.Second))
	if n := tenSecondEvents(got); n != len(recs) {
		t.Fatalf("user_10s windows counted %d events, want all %d (retried ones included): %+v", n, len(recs), got)
	}
	for _, r := range got {
		if r.Window == "user_10s" && r.Segment != profileservice.ProfileFor(r.UserID).Segment {
			t.Errorf("window %+v lacks the profile segment %q", r, profileservice.ProfileFor(r.UserID).Segment)
		}
	}
	for _, u := range users {
		if c := svc.Calls(u); c < 1 || c > 2 {
			t.Errorf("profile of %s fetched %d times, want 1 or 2 (a failure, then the cache)", u, c)
		}
	}
	if n := len(harness.Consume(t, addr, "clickstream-dlq", 1, time.Second)); n != 0 {
		t.Errorf("clickstream-dlq has %d records", n)
	}
}

func compactJSON(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

func TestEmbeddedBrokerRestartKeepsRecordsAndOffsets(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := func() *harness.Process {
		p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS=", "PROFILE_URL=", "PIPELINE_PROFILE_FAIL_RATE=0",
			"WINDOW_IDLE_TIMEOUT=1s", "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)},
			"--broker-port", fmt.Sprint(port), "--data-dir", dataDir, "--demo=false",
			"-c", filepath.Join(harness.RepoRoot(), clickstreamConfig))
		p.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
		return p
	}
	batch := func(base time.Time, n int) []*kgo.Record {
		var rs []*kgo.Record
		for i := 0; i < n; i++ {
			u := fmt.Sprintf("user-%d", i%4)
			rs = append(rs, harness.KV(u, event(u, "click", base.Add(time.Duration(i)*time.Millisecond))))
		}
		return rs
	}
	first := time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	p := start()
	harness.Produce(t, addr, "clickstream", batch(first, 10)...)
	// 4 users: four 10s windows and four sessions.
	if n := tenSecondEvents(decodeResults(t, harness.ConsumeExactly(t, addr, "user_stats", 8, 30*time.Second))); n != 10 {
		t.Fatalf("first run counted %d events, want 10", n)
	}
	waitCommitted(t, addr, 10)
	// The window state resumes from the committed offsets alone: their
	// metadata carries each partition's watermark.
	if rs := harness.CommittedResumes(t, addr, "clickstream-windows", "clickstream"); len(rs) == 0 {
		t.Fatal("no committed offset of clickstream carries the window state's resume point")
	}
	p.Stop(t)

	start()
	// Idle partitions moved their watermark to the wall clock before the
	// stop, and the committed offsets keep it: newer events count, events
	// older than that would be late, as in a run without the restart. Their
	// 10 s windows close once idle (4 more results); their sessions stay
	// open for 30 minutes of event time.
	harness.Produce(t, addr, "clickstream", batch(time.Now().UTC().Truncate(10*time.Second), 5)...)
	// Had offsets been lost, the first 10 would be counted again.
	all := decodeResults(t, harness.ConsumeExactly(t, addr, "user_stats", 12, 30*time.Second))
	if n := tenSecondEvents(all); n != 15 {
		t.Fatalf("after restart user_stats counts %d events, want 15", n)
	}
	if in := harness.Consume(t, addr, "clickstream", 16, 3*time.Second); len(in) != 15 {
		t.Fatalf("clickstream holds %d records after restart, want 15", len(in))
	}
}

func waitCommitted(t *testing.T, addr string, want int64) {
	t.Helper()
	var got int64
	if !kafkatest.Every(30*time.Second, 200*time.Millisecond, func() bool {
		got = harness.CommittedOffsets(t, addr, "clickstream-windows", "clickstream")
		return got == want
	}) {
		t.Fatalf("group clickstream-windows committed %d, want %d", got, want)
	}
}
