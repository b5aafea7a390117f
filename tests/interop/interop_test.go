// Package interop proves that clients we did not write (kcat, confluent-kafka
// and kafka-python, from Debian's packages) work against `pipeline` and its
// embedded broker, the way the seeds' Python code uses them.
package interop

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
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
	p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS=", "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)},
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

	var lines []string
	deadline := time.Now().Add(30 * time.Second)
	for len(lines) < 6 && time.Now().Before(deadline) {
		out := run(t, 30*time.Second, "", "kcat", "-C", "-b", addr, "-t", "clickstream-events", "-o", "beginning", "-e", "-q", "-f", "%k|%s\n")
		lines = nonEmpty(out)
		if len(lines) < 6 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if len(lines) != 6 {
		t.Fatalf("kcat read %d records from clickstream-events, want 6: %q", len(lines), lines)
	}
	for _, l := range lines {
		key, val, _ := strings.Cut(l, "|")
		var e struct {
			UserID    string `json:"user_id"`
			EventType string `json:"event_type"`
		}
		if err := json.Unmarshal([]byte(val), &e); err != nil {
			t.Fatalf("output %q is not JSON: %v", val, err)
		}
		if e.UserID != key || e.EventType != "purchase" {
			t.Errorf("record key %q value %s: want key = user_id and event_type purchase", key, val)
		}
	}
}

type clientResult struct {
	Delivered int      `json:"delivered"`
	Failed    []string `json:"failed"`
	Received  []struct {
		Key   string         `json:"key"`
		Value map[string]any `json:"value"`
	} `json:"received"`
}

func runPythonClient(t *testing.T, script string, n int) clientResult {
	t.Helper()
	need(t, python)
	addr := startPipeline(t)
	out := run(t, 120*time.Second, "", python, script, addr, "clickstream", "clickstream-events", fmt.Sprint(n))
	var res clientResult
	if err := json.Unmarshal([]byte(lastLine(out)), &res); err != nil {
		t.Fatalf("%s printed %q: %v", script, out, err)
	}
	if res.Delivered != n || len(res.Failed) != 0 {
		t.Fatalf("%s delivered %d of %d, failures %v", script, res.Delivered, n, res.Failed)
	}
	if len(res.Received) != n {
		t.Fatalf("%s received %d of %d from clickstream-events", script, len(res.Received), n)
	}
	return res
}

func TestConfluentKafkaClient(t *testing.T) {
	res := runPythonClient(t, "confluent_client.py", 9)
	var pages []string
	for _, r := range res.Received {
		if r.Value["user_id"] != r.Key || r.Value["event_type"] != "click" {
			t.Errorf("record key %q value %v", r.Key, r.Value)
		}
		pages = append(pages, r.Value["metadata"].(map[string]any)["page"].(string))
	}
	assertPages(t, pages, "/p/", 9)
}

func TestKafkaPythonClient(t *testing.T) {
	res := runPythonClient(t, "kafka_python_client.py", 8)
	var pages []string
	for _, r := range res.Received {
		if r.Value["user_id"] != r.Key || r.Value["event_type"] != "scroll" {
			t.Errorf("record key %q value %v", r.Key, r.Value)
		}
		pages = append(pages, r.Value["metadata"].(map[string]any)["page"].(string))
	}
	assertPages(t, pages, "/k/", 8)
}

// assertPages checks every produced event came out exactly once.
func assertPages(t *testing.T, pages []string, prefix string, n int) {
	t.Helper()
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("%s%d", prefix, i))
	}
	sort.Strings(pages)
	sort.Strings(want)
	if strings.Join(pages, ",") != strings.Join(want, ",") {
		t.Fatalf("pages %v, want %v", pages, want)
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
