// Package interop proves that clients we did not write (kcat, confluent-kafka
// and kafka-python, from Debian's packages) work against `pipeline` and its
// embedded broker, the way the seeds' Python code uses them.
package interop

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

// python is Debian's interpreter: it sees python3-confluent-kafka and
// python3-kafka, which a pyenv or venv python would not.
const python = "/usr/bin/python3"

// startPipeline runs `pipeline demo` (its embedded broker, demo events,
// the main job, the API and the page) and returns the broker address. The
// clients' events share the topics with the demo's, so every assertion is
// about the clients' own users.
func startPipeline(t *testing.T) string {
	t.Helper()
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// The profile service never fails here: a retried event can come back
	// after its window closed, and the counts must be exact.
	p := harness.Start(t, "", []string{"KAFKA_BROKERS=", "PROFILE_URL=", "PIPELINE_PROFILE_FAIL_RATE=0",
		"PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t), "TRACK_API_ADDRESS=" + harness.FreeAddr(t), "LIVE_VIEW_ADDRESS=" + harness.FreeAddr(t)},
		"demo", "--broker-port", fmt.Sprint(port), "--in-memory", "--demo-rate", "20")
	p.WaitForOutput(t, "pipeline demo is running", 30*time.Second)
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

// readFor runs a consumer that does not exit by itself and returns its
// output once done says it holds what the test waits for (plus a second for
// anything that should not follow), or fails after timeout.
func readFor(t *testing.T, timeout time.Duration, done func(out string) bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var out harness.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	if !kafkatest.Every(timeout, 100*time.Millisecond, func() bool { return done(out.String()) }) {
		t.Fatalf("%s %v: not there within %v; output:\n%s", name, args, timeout, out.String())
	}
	// Anything that should not follow would come within a second: the
	// output must still satisfy done (and the caller checks it for extras).
	kafkatest.Consistently(t, time.Second, name+"'s output holding what was awaited", func() bool { return done(out.String()) })
	return out.String()
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
	users := []string{fmt.Sprintf("kcat-user-0-%d", time.Now().UnixNano()), fmt.Sprintf("kcat-user-1-%d", time.Now().UnixNano())}
	var in strings.Builder
	for i := 0; i < 6; i++ {
		u := users[i%2]
		fmt.Fprintf(&in, `%s|{"event_type":"purchase","user_id":%q,"action":"view","timestamp":%q,"metadata":{"page":"/cart"}}`+"\n",
			u, u, time.Now().UTC().Format(time.RFC3339Nano))
	}
	run(t, 30*time.Second, in.String(), "kcat", "-P", "-b", addr, "-t", "clickstream", "-K", "|", "-H", "source=kcat")

	// The input topic holds the header kcat wrote, read back by kcat. The
	// demo keeps writing to it, so kcat's -e (exit once every partition is
	// at its end at the same time) may never come: read (unbuffered, -u)
	// until all six are there, and a little longer for a seventh that must
	// not be.
	hdrs := readFor(t, 30*time.Second, func(out string) bool { return strings.Count(out, "source=kcat") >= 6 },
		"kcat", "-C", "-u", "-b", addr, "-t", "clickstream", "-o", "beginning", "-q", "-f", "%h\n")
	if n := strings.Count(hdrs, "source=kcat"); n != 6 {
		t.Fatalf("kcat read %d records with header source=kcat from clickstream, want 6:\n%s", n, hdrs)
	}

	// A 10s window closes 10s (the allowed lateness) after its end.
	counted := map[string]int{}
	kafkatest.Every(60*time.Second, time.Second, func() bool {
		counted = map[string]int{}
		out := run(t, 30*time.Second, "", "kcat", "-C", "-b", addr, "-t", "user_stats", "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n")
		for _, l := range nonEmpty(out) {
			key, val, _ := strings.Cut(l, "\t")
			var w windowResult
			if err := json.Unmarshal([]byte(val), &w); err != nil {
				t.Fatalf("output %q is not JSON: %v", val, err)
			}
			if w.UserID != users[0] && w.UserID != users[1] {
				continue
			}
			if !strings.HasPrefix(key, w.UserID+"|") {
				t.Errorf("record key %q is not the window id of %s", key, val)
			}
			if w.Window == "user_10s" {
				counted[w.UserID] += w.Events
			}
		}
		return counted[users[0]]+counted[users[1]] >= 6
	})
	if counted[users[0]] != 3 || counted[users[1]] != 3 {
		t.Fatalf("window counts %v, want 3 events for each of %v", counted, users)
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
	Users     []string `json:"users"`
	Received  []struct {
		Key   string       `json:"key"`
		Value windowResult `json:"value"`
	} `json:"received"`
}

// runPythonClient produces n events with the script and reads the window
// results of its users back with it.
func runPythonClient(t *testing.T, script string, n int) clientResult {
	t.Helper()
	need(t, python)
	addr := startPipeline(t)
	out := run(t, 150*time.Second, "", python, script, addr, "clickstream", "user_stats", fmt.Sprint(n))
	var res clientResult
	if err := json.Unmarshal([]byte(lastLine(out)), &res); err != nil {
		t.Fatalf("%s printed %q: %v", script, out, err)
	}
	if res.Delivered != n || len(res.Failed) != 0 {
		t.Fatalf("%s delivered %d of %d, failures %v", script, res.Delivered, n, res.Failed)
	}
	return res
}

func TestConfluentKafkaClient(t *testing.T) {
	res := runPythonClient(t, "confluent_client.py", 9)
	assertCounts(t, res, 3)
}

func TestKafkaPythonClient(t *testing.T) {
	res := runPythonClient(t, "kafka_python_client.py", 8)
	assertCounts(t, res, 4)
}

// assertCounts checks the 10s windows counted every produced event exactly
// once (perUser each) and are keyed by their window id.
func assertCounts(t *testing.T, res clientResult, perUser int) {
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
	want := map[string]int{}
	for _, u := range res.Users {
		want[u] = perUser
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
