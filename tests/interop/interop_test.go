// Package interop proves that clients we did not write (kcat, confluent-kafka
// and kafka-python, from Debian's packages) work against `pipeline` and its
// embedded broker, the way the seeds' Python code uses them.
package interop

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
)

// python is Debian's interpreter: it sees python3-confluent-kafka and
// python3-kafka, which a pyenv or venv python would not.
const python = "/usr/bin/python3"

// startPipeline runs the main job with its own embedded broker and returns
// the broker address.
func startPipeline(t *testing.T) string {
	t.Helper()
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// Windows close 1s after the input goes quiet; the profile service
	// never fails, so counts are exact.
	p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS=", "PROFILE_URL=", "PIPELINE_PROFILE_FAIL_RATE=0",
		"WINDOW_IDLE_TIMEOUT=1s", "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)},
		"--broker-port", fmt.Sprint(port), "--in-memory", "--demo=false",
		"-c", filepath.Join(harness.RepoRoot(), "configs", "clickstream.yaml"))
	p.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
	return addr
}

// need fails, never skips: CI installs these tools, so a missing one is a
// broken setup to fix, not a test to pass over.
func need(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("%s is not installed (apt-get install kcat python3-confluent-kafka python3-kafka; .ci/run does): %v", path, err)
	}
}

func run(t *testing.T, timeout time.Duration, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s %v did not finish within %v", name, args, timeout)
	}
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %v: %v\n%s", name, args, err, msg)
	}
	return string(out)
}

func TestKcatProducesAndReads(t *testing.T) {
	need(t, "kcat")
	addr := startPipeline(t)
	var in strings.Builder
	for i := 0; i < 6; i++ {
		u := fmt.Sprintf("kcat-user-%d", i%2)
		fmt.Fprintf(&in, `%s|{"event_type":"purchase","user_id":%q,"action":"view","timestamp":"2024-06-27T15:43:4%d","metadata":{"page":"/cart"}}`+"\n", u, u, i)
	}
	run(t, 30*time.Second, in.String(), "kcat", "-P", "-b", addr, "-t", "clickstream", "-K", "|", "-H", "source=kcat")

	// The input topic holds the header kcat wrote, read back by kcat.
	hdrs := run(t, 30*time.Second, "", "kcat", "-C", "-b", addr, "-t", "clickstream", "-o", "beginning", "-e", "-q", "-f", "%h\n")
	if n := strings.Count(hdrs, "source=kcat"); n != 6 {
		t.Fatalf("kcat read %d records with header source=kcat from clickstream, want 6:\n%s", n, hdrs)
	}

	// Two users in one 10s window: a window result and a session each.
	var lines []string
	deadline := time.Now().Add(30 * time.Second)
	for len(lines) < 4 && time.Now().Before(deadline) {
		out := run(t, 30*time.Second, "", "kcat", "-C", "-b", addr, "-t", "user_stats", "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
		lines = nonEmpty(out)
		if len(lines) < 4 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if len(lines) != 4 {
		t.Fatalf("kcat read %d records from user_stats, want 4: %q", len(lines), lines)
	}
	counted := map[string]int{}
	for _, l := range lines {
		key, val, _ := strings.Cut(l, "\t")
		var w windowResult
		if err := json.Unmarshal([]byte(val), &w); err != nil {
			t.Fatalf("output %q is not JSON: %v", val, err)
		}
		if !strings.HasPrefix(key, w.UserID+"|") {
			t.Errorf("record key %q is not the window id of %s", key, val)
		}
		if w.Window == "user_10s" {
			counted[w.UserID] += w.Events
		}
	}
	if counted["kcat-user-0"] != 3 || counted["kcat-user-1"] != 3 {
		t.Fatalf("window counts %v, want 3 events per user", counted)
	}
}

// windowResult is the part of a user_stats record the clients check.
type windowResult struct {
	UserID string `json:"user_id"`
	Window string `json:"window"`
	Events int    `json:"events"`
}

type clientResult struct {
	Delivered int      `json:"delivered"`
	Failed    []string `json:"failed"`
	Received  []struct {
		Key   string       `json:"key"`
		Value windowResult `json:"value"`
	} `json:"received"`
}

// runPythonClient produces n events with the script and reads expect
// records of user_stats back with it.
func runPythonClient(t *testing.T, script string, n, expect int) clientResult {
	t.Helper()
	need(t, python)
	addr := startPipeline(t)
	out := run(t, 120*time.Second, "", python, script, addr, "clickstream", "user_stats", fmt.Sprint(n), fmt.Sprint(expect))
	var res clientResult
	if err := json.Unmarshal([]byte(lastLine(out)), &res); err != nil {
		t.Fatalf("%s printed %q: %v", script, out, err)
	}
	if res.Delivered != n || len(res.Failed) != 0 {
		t.Fatalf("%s delivered %d of %d, failures %v", script, res.Delivered, n, res.Failed)
	}
	if len(res.Received) != expect {
		t.Fatalf("%s received %d of %d records from user_stats", script, len(res.Received), expect)
	}
	return res
}

func TestConfluentKafkaClient(t *testing.T) {
	// 9 events of 3 users in one 10s window: 3 window results, 3 sessions.
	res := runPythonClient(t, "confluent_client.py", 9, 6)
	assertCounts(t, res, map[string]int{"py-user-0": 3, "py-user-1": 3, "py-user-2": 3})
}

func TestKafkaPythonClient(t *testing.T) {
	res := runPythonClient(t, "kafka_python_client.py", 8, 4)
	assertCounts(t, res, map[string]int{"kp-user-0": 4, "kp-user-1": 4})
}

// assertCounts checks the 10s windows counted every produced event once and
// are keyed by their window id.
func assertCounts(t *testing.T, res clientResult, want map[string]int) {
	t.Helper()
	got := map[string]int{}
	for _, r := range res.Received {
		if !strings.HasPrefix(r.Key, r.Value.UserID+"|") {
			t.Errorf("record key %q is not the window id of user %s", r.Key, r.Value.UserID)
		}
		if r.Value.Window == "user_10s" {
			got[r.Value.UserID] += r.Value.Events
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events per user %v, want %v", got, want)
	}
}

func nonEmpty(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

func lastLine(s string) string {
	ls := nonEmpty(s)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}
