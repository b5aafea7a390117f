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

	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

var clickstreamConfig = envOr("CLICKSTREAM_CONFIG", "configs/clickstream.yaml")

func event(user, typ string, ts time.Time) string {
	return fmt.Sprintf(`{"event_type":%q,"user_id":%q,"action":"view","timestamp":%q,"metadata":{"session_id":"s-%s","page":"/search","item_id":"05efee91","user_agent":"test"}}`,
		typ, user, ts.UTC().Format("2006-01-02T15:04:05.000000"), user)
}

// runClickstream starts the binary on the main config against addr.
func runClickstream(t *testing.T, addr string, extraEnv ...string) *harness.Process {
	env := append([]string{"KAFKA_BROKERS=" + addr, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)}, extraEnv...)
	p := harness.Start(t, "", env, "-c", clickstreamConfig)
	return p
}

func TestClickstreamConfigEndToEnd(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 3, "clickstream", "clickstream-events", "clickstream-dlq")
	base := time.Date(2024, 6, 27, 15, 43, 43, 315342000, time.UTC)
	var valid []*kgo.Record
	for i, typ := range []string{"page_view", "click", "scroll", "add_to_cart", "purchase"} {
		valid = append(valid, harness.KV(fmt.Sprintf("u%d", i%2), event(fmt.Sprintf("u%d", i%2), typ, base.Add(time.Duration(i)*time.Second))))
	}
	bad := []*kgo.Record{harness.KV("u9", `{"event_type":"click","user_id":"u9`), harness.KV("u8", `not json`)}
	harness.Produce(t, addr, "clickstream", append(valid, bad...)...)

	runClickstream(t, addr)

	out := harness.ConsumeExactly(t, addr, "clickstream-events", len(valid), 30*time.Second)
	want := map[string]string{}
	for _, r := range valid {
		want[compactJSON(t, r.Value)] = string(r.Key)
	}
	for _, r := range out {
		var v map[string]any
		if err := json.Unmarshal(r.Value, &v); err != nil {
			t.Fatalf("output is not JSON: %s", r.Value)
		}
		canon := compactJSON(t, r.Value)
		key, ok := want[canon]
		if !ok {
			t.Fatalf("unexpected output %s", r.Value)
		}
		if key != string(r.Key) {
			t.Errorf("output key %q, want %q", r.Key, key)
		}
		delete(want, canon)
	}
	if len(want) != 0 {
		t.Fatalf("missing outputs: %v", want)
	}

	dlq := harness.ConsumeExactly(t, addr, "clickstream-dlq", len(bad), 30*time.Second)
	var got []string
	for _, r := range dlq {
		if errText := harness.Header(r, "error"); !strings.Contains(errText, "parse") {
			t.Errorf("DLQ record %s has error header %q, want a parse error", r.Value, errText)
		}
		got = append(got, string(r.Key)+"="+string(r.Value))
	}
	sort.Strings(got)
	if wantBad := []string{`u8=not json`, `u9={"event_type":"click","user_id":"u9`}; strings.Join(got, "\n") != strings.Join(wantBad, "\n") {
		t.Fatalf("DLQ = %q, want the original bytes and keys %q", got, wantBad)
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
		p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS=", "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)},
			"--broker-port", fmt.Sprint(port), "--data-dir", dataDir, "--demo=false",
			"-c", filepath.Join(harness.RepoRoot(), clickstreamConfig))
		p.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
		return p
	}
	now := time.Now()
	batch := func(from, n int) []*kgo.Record {
		var rs []*kgo.Record
		for i := from; i < from+n; i++ {
			u := fmt.Sprintf("user-%d", i%4)
			rs = append(rs, harness.KV(u, event(u, "click", now.Add(time.Duration(i)*time.Millisecond))))
		}
		return rs
	}

	p := start()
	harness.Produce(t, addr, "clickstream", batch(0, 10)...)
	harness.ConsumeExactly(t, addr, "clickstream-events", 10, 30*time.Second)
	waitCommitted(t, addr, 10)
	p.Stop(t)

	start()
	harness.Produce(t, addr, "clickstream", batch(10, 5)...)
	// Had offsets been lost the group would start over and write 25.
	harness.ConsumeExactly(t, addr, "clickstream-events", 15, 30*time.Second)
	if in := harness.Consume(t, addr, "clickstream", 16, 3*time.Second); len(in) != 15 {
		t.Fatalf("clickstream holds %d records after restart, want 15", len(in))
	}
}

func waitCommitted(t *testing.T, addr string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := harness.CommittedOffsets(t, addr, "clickstream-windows", "clickstream")
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group clickstream-windows committed %d, want %d", got, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
