package tests

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// exampleConfig is the path of a job in configs/examples.
func exampleConfig(name string) string {
	return filepath.Join("configs", "examples", name+".yaml")
}

// runExample starts the binary on configs/examples/<name>.yaml against addr.
// idle is the window idle_timeout (WINDOW_IDLE_TIMEOUT), short in tests so
// the last windows close soon after the fixed event set is consumed.
func runExample(t *testing.T, name, addr, idle string) *harness.Process {
	t.Helper()
	env := []string{"KAFKA_BROKERS=" + addr, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t), "WINDOW_IDLE_TIMEOUT=" + idle}
	return harness.Start(t, "", env, "-c", exampleConfig(name))
}

// clickEvent is a clickstream event with a chosen action and page.
func clickEvent(user, action, page string, ts time.Time) string {
	return fmt.Sprintf(`{"event_type":"page_view","user_id":%q,"action":%q,"timestamp":%q,"metadata":{"session_id":"s-%s","page":%q,"item_id":"05efee91","user_agent":"test"}}`,
		user, action, ts.UTC().Format("2006-01-02T15:04:05.000000"), user, page)
}

// keyed renders records as sorted "key => compact JSON" lines.
func keyed(t *testing.T, recs []*kgo.Record) []string {
	t.Helper()
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Key)+" => "+compactJSON(t, r.Value))
	}
	sort.Strings(out)
	return out
}

// assertTopic reads exactly len(want) records from topic and compares them,
// as "key => JSON" lines, with want.
func assertTopic(t *testing.T, addr, topic string, want []string, deadline time.Duration) []*kgo.Record {
	t.Helper()
	recs := harness.ConsumeExactly(t, addr, topic, len(want), deadline)
	got := keyed(t, recs)
	canon := make([]string, len(want))
	for i, w := range want {
		k, v, _ := strings.Cut(w, " => ")
		canon[i] = k + " => " + compactJSON(t, []byte(v))
	}
	sort.Strings(canon)
	if strings.Join(got, "\n") != strings.Join(canon, "\n") {
		t.Fatalf("topic %s:\n got  %s\n want %s", topic, strings.Join(got, "\n      "), strings.Join(canon, "\n      "))
	}
	return recs
}

// TestWindowUserStatsOutOfOrderLateAndInvalid runs user_stats.yaml (10 s
// tumbling per user, 5 s lateness) over one partition in a fixed order:
// an event 3 s out of order is counted, one arriving after its window
// closed goes to user_stats-late with the window metadata as headers, and
// a record that is not JSON goes to user_stats-dlq.
func TestWindowUserStatsOutOfOrderLateAndInvalid(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "user_stats", "user_stats-late", "user_stats-dlq")
	b := time.Date(2024, 6, 27, 15, 43, 40, 0, time.UTC) // a 10 s boundary
	at := func(s int) time.Time { return b.Add(time.Duration(s) * time.Second) }
	harness.Produce(t, addr, "clickstream",
		harness.KV("u1", event("u1", "page_view", at(1))),
		harness.KV("u2", event("u2", "click", at(2))),
		harness.KV("u1", event("u1", "click", at(4))),
		harness.KV("u1", event("u1", "scroll", at(12))),  // watermark 12 s
		harness.KV("u2", event("u2", "click", at(9))),    // 3 s out of order: [40,50) closes at 55 s
		harness.KV("u1", event("u1", "click", at(16))),   // watermark 16 s: [40,50) closes
		harness.KV("u1", event("u1", "purchase", at(3))), // late by 1 s
		harness.KV("u2", event("u2", "click", at(25))),
		harness.KV("u3", `not json`),
	)

	runExample(t, "user_stats", addr, "1s")

	id := func(u string, from, to int) string {
		return fmt.Sprintf("%s|%s|%s", u, at(from).Format(time.RFC3339), at(to).Format(time.RFC3339))
	}
	row := func(u string, from, n int) string {
		return fmt.Sprintf(`{"timestamp":%q,"user_id":%q,"count":%d}`, at(from).Format(time.RFC3339), u, n)
	}
	assertTopic(t, addr, "user_stats", []string{
		id("u1", 0, 10) + " => " + row("u1", 0, 2),
		id("u2", 0, 10) + " => " + row("u2", 0, 2),
		id("u1", 10, 20) + " => " + row("u1", 10, 2),
		id("u2", 20, 30) + " => " + row("u2", 20, 1),
	}, 20*time.Second)

	late := harness.ConsumeExactly(t, addr, "user_stats-late", 1, 10*time.Second)[0]
	if want := event("u1", "purchase", at(3)); string(late.Key) != "u1" || string(late.Value) != want {
		t.Errorf("late record %s => %s, want the original u1 => %s", late.Key, late.Value, want)
	}
	for k, want := range map[string]string{
		"window_late":       "true",
		"error_class":       "late",
		"window_name":       "user_stats",
		"window_start":      at(0).Format(time.RFC3339),
		"window_end":        at(10).Format(time.RFC3339),
		"window_watermark":  at(16).Format(time.RFC3339),
		"window_late_by_ms": "1000",
	} {
		if got := harness.Header(late, k); got != want {
			t.Errorf("late record header %s = %q, want %q", k, got, want)
		}
	}
	if e := harness.Header(late, "error"); !strings.Contains(e, "late event") {
		t.Errorf("late record header error = %q, want the late-event reason", e)
	}

	dlq := harness.ConsumeExactly(t, addr, "user_stats-dlq", 1, 10*time.Second)[0]
	if string(dlq.Value) != "not json" || harness.Header(dlq, "error_class") != "validation" || harness.Header(dlq, "error") == "" {
		t.Errorf("DLQ record %s with headers %v, want the original bytes, error_class validation and an error", dlq.Value, dlq.Headers)
	}
}
