package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
)

// Streams mode starts the embedded broker too and runs stream configs (which
// hold only input, buffer, pipeline and output) with our plugins.
func TestStreamsModeRunsMainConfigOnEmbeddedBroker(t *testing.T) {
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	root := filepath.Join(t.TempDir(), "root.yaml")
	if err := os.WriteFile(root, []byte("http:\n  address: "+harness.FreeAddr(t)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stream := filepath.Join(t.TempDir(), "user_counts.yaml")
	if err := os.WriteFile(stream, []byte(streamsModeConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS="},
		"streams", "--broker-port", fmt.Sprint(port), "--in-memory", "--demo=false", "-o", root, stream)
	p.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
	u := "u1"
	harness.Produce(t, addr, "clickstream", harness.KV(u, event(u, "click", time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC))))
	got := harness.ConsumeExactly(t, addr, "user_counts", 1, 30*time.Second)
	if v := compactJSON(t, got[0].Value); v != `{"events":1,"user_id":"u1","window_end":"2024-06-27T15:00:10Z","window_start":"2024-06-27T15:00:00Z"}` {
		t.Fatalf("streams mode wrote %s", v)
	}
}

const streamsModeConfig = `
input:
  redpanda:
    seed_brokers: [ "${KAFKA_BROKERS}" ]
    topics: [ clickstream ]
    consumer_group: streams-mode
    unordered_processing: { enabled: true }
buffer:
  window:
    timestamp_field: timestamp
    idle_timeout: 1s
    windows:
      - { name: user_10s, size: 10s, key_field: user_id, key_name: user_id, aggregates: [ { name: events, type: count } ] }
output:
  redpanda:
    seed_brokers: [ "${KAFKA_BROKERS}" ]
    topic: user_counts
    key: ${! @window_id }
`

func TestMainConfigServesPrometheusMetrics(t *testing.T) {
	addr := harness.StartBroker(t)
	httpAddr := harness.FreeAddr(t)
	p := runClickstream(t, addr, "PIPELINE_HTTP_ADDRESS="+httpAddr)
	p.WaitForOutput(t, "Listening for HTTP requests at: http://"+httpAddr, 30*time.Second)
	u := "u1"
	harness.Produce(t, addr, "clickstream", harness.KV(u, event(u, "click", time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC))))
	harness.ConsumeExactly(t, addr, "user_stats", 2, 30*time.Second)
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{"# TYPE input_received counter", `input_received{label="clickstream_main"`,
		"window_events_in", "window_emitted", "validate_validated"} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !strings.Contains(text, "# TYPE input_received counter") {
		t.Fatalf("/metrics is not Prometheus text with the input's counter:\n%.2000s", text)
	}
}

func TestBloblAndCreateSubcommands(t *testing.T) {
	cmd := exec.Command(harness.Binary(t), "blobl", "root.b = this.a + 1")
	cmd.Stdin = strings.NewReader(`{"a":1}` + "\n")
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) != `{"b":2}` {
		t.Fatalf("blobl = %q, %v", out, err)
	}
	got, err := runBinary(t, nil, "create", "redpanda//redpanda")
	if err != nil || !strings.Contains(got, "redpanda:") || !strings.Contains(got, "address: 127.0.0.1:4195") {
		t.Fatalf("create redpanda//redpanda = %v:\n%.500s", err, got)
	}
}
