package tests

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

var summaryField = regexp.MustCompile(`(\S+)=(\d+)`)

// lastSummary returns the fields of the last "demo summary" line.
func lastSummary(out string) map[string]int {
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `msg="demo summary`) {
			line = l
		}
	}
	got := map[string]int{}
	for _, m := range summaryField.FindAllStringSubmatch(line, -1) {
		got[m[1]], _ = strconv.Atoi(m[2])
	}
	return got
}

// Issue 14 point 6: with its defaults, the demo sends events down every
// route of the main job within two minutes (late ones to clickstream-late,
// enrichment failures up the whole retry ladder into the DLQ as
// retries_exhausted, malformed ones into the DLQ as validation) and a
// periodic summary line says how many went where. Point 7: every log line
// says which job wrote it, and the live view does not warn about
// back-pressure when nobody watches.
func TestDemoShowsEveryRouteWithinTwoMinutes(t *testing.T) {
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	p := harness.Start(t, "", []string{"KAFKA_BROKERS=", "PROFILE_URL=", "PIPELINE_DEMO_RATE=", "PIPELINE_PROFILE_FAIL_RATE=",
		"PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t), "TRACK_API_ADDRESS=" + harness.FreeAddr(t), "LIVE_VIEW_ADDRESS=" + harness.FreeAddr(t)},
		"demo", "--broker-port", fmt.Sprint(port), "--in-memory")
	p.WaitForOutput(t, "pipeline demo is running", 30*time.Second)

	routes := []string{"clickstream-late", "clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3", "dlq_validation", "dlq_retries_exhausted", "user_stats"}
	var got map[string]int
	var missing []string
	if !kafkatest.Every(2*time.Minute-time.Since(start), time.Second, func() bool {
		got, missing = lastSummary(p.Output()), nil
		for _, r := range routes {
			if got[r] == 0 {
				missing = append(missing, r)
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("after 2 minutes the demo summary has nothing for %v: %v", missing, got)
	}
	t.Logf("demo summary after %v: %v", time.Since(start).Round(time.Second), got)

	// The summary counts what is in Kafka.
	if late := harness.Consume(t, addr, "clickstream-late", 1, 10*time.Second); len(late) == 0 {
		t.Fatal("clickstream-late is empty")
	}
	classes := map[string]int{}
	for _, r := range harness.Consume(t, addr, "clickstream-dlq", got["clickstream-dlq"], 10*time.Second) {
		classes[harness.Header(r, "dlq_error_class")]++
	}
	if classes["retries_exhausted"] == 0 || classes["validation"] == 0 {
		t.Fatalf("dead letters by class %v, want retries_exhausted and validation", classes)
	}

	out := p.Output()
	jobs := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "time=") {
			continue // the banner
		}
		m := regexp.MustCompile(` job=(\S+)`).FindStringSubmatch(line)
		if m == nil {
			t.Errorf("log line without job=: %s", line)
			continue
		}
		jobs[m[1]] = true
		if !strings.Contains(line, " level=") || !strings.Contains(line, " msg=") {
			t.Errorf("log line not in logfmt with level and msg: %s", line)
		}
	}
	for _, j := range []string{"demo", "clickstream", "track_api", "live_view"} {
		if !jobs[j] {
			t.Errorf("no log line of job %s (jobs seen: %v)", j, jobs)
		}
	}
	if strings.Contains(strings.ToLower(out), "back pressure") {
		t.Errorf("back-pressure warning with nobody watching:\n%s", out)
	}
}
