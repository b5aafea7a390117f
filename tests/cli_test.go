package tests

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
)

func runBinary(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	p := harness.Start(t, "", env, args...)
	err, ok := p.Wait(60 * time.Second)
	if !ok {
		t.Fatalf("pipeline %v did not exit within 60s", args)
	}
	return p.Output(), err
}

func TestVersionIsReal(t *testing.T) {
	out, err := runBinary(t, nil, "--version")
	if err != nil || !strings.Contains(out, "Version: 0.1.0") {
		t.Fatalf("pipeline --version = %q, %v", out, err)
	}
}

// A taken port must fail the run mode with advice, and must not matter to
// lint and test, which never start a broker.
func TestPortInUseFailsRunButNotLint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	env := []string{"KAFKA_BROKERS=", "PIPELINE_BROKER_PORT=" + port}

	out, err := runBinary(t, env, "-c", clickstreamConfig)
	if err == nil {
		t.Fatalf("run with port %s taken succeeded:\n%s", port, out)
	}
	for _, want := range []string{"127.0.0.1:" + port, "port in use", "KAFKA_BROKERS=127.0.0.1:" + port, "--broker-port"} {
		if !strings.Contains(out, want) {
			t.Errorf("error output lacks %q:\n%s", want, out)
		}
	}
	for _, args := range [][]string{{"lint", clickstreamConfig}, {"test", "./configs/..."}, {"list", "inputs"}} {
		if out, err := runBinary(t, env, args...); err != nil {
			t.Errorf("pipeline %v with the broker port taken: %v\n%s", args, err, out)
		}
	}
}

func TestDemoEventsFlowWithEmbeddedBrokerOnly(t *testing.T) {
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := harness.Start(t, t.TempDir(), []string{"KAFKA_BROKERS=", "PROFILE_URL=", "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)},
		"--broker-port", fmt.Sprint(port), "--in-memory", "--demo-rate", "50",
		"-c", filepath.Join(harness.RepoRoot(), clickstreamConfig))
	p.WaitForOutput(t, "demo producer writing clickstream events", 30*time.Second)
	p.WaitForOutput(t, "local profile service for enrichment", 5*time.Second)
	if got := harness.Consume(t, addr, "clickstream", 20, 10*time.Second); len(got) < 20 {
		t.Fatalf("%d demo events reached clickstream in 10s, want at least 20", len(got))
	}
	// A 10s window closes 10s (allowed lateness) after its end.
	res := decodeResults(t, harness.Consume(t, addr, "user_stats", 1, 45*time.Second))
	if len(res) == 0 || res[0].Events < 1 || res[0].UserID == "" {
		t.Fatalf("no window result from the demo within 45s: %+v", res)
	}
	p.WaitForOutput(t, "level=info msg=\"window user_10s", 5*time.Second)

	// Against an existing broker: no embedded broker, no demo events.
	ext := harness.StartBroker(t)
	q := harness.Start(t, "", []string{"KAFKA_BROKERS=" + ext, "PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)}, "-c", clickstreamConfig)
	// Whatever Kafka input type the main job uses, its label is clickstream_main.
	q.WaitForOutput(t, `is now active" @service=benthos label=clickstream_main`, 30*time.Second)
	if got := harness.Consume(t, ext, "clickstream", 1, 3*time.Second); len(got) != 0 {
		t.Fatalf("demo events were written to a real cluster: %s", got[0].Value)
	}
	if strings.Contains(q.Output(), "embedded Kafka broker") {
		t.Fatalf("embedded broker started although KAFKA_BROKERS was set:\n%s", q.Output())
	}
}

func TestBrokerCommandServesOtherClients(t *testing.T) {
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dir := filepath.Join(t.TempDir(), "data")
	b := harness.Start(t, "", nil, "broker", "--broker-port", fmt.Sprint(port), "--data-dir", dir)
	b.WaitForOutput(t, "embedded Kafka broker listening on "+addr+", data kept in "+dir, 30*time.Second)
	harness.Produce(t, addr, "standalone", harness.KV("k", "v1"), harness.KV("k", "v2"))
	if got := harness.ConsumeExactly(t, addr, "standalone", 2, 10*time.Second); string(got[0].Value) != "v1" || string(got[1].Value) != "v2" {
		t.Fatalf("read back %q, %q", got[0].Value, got[1].Value)
	}
	if got := harness.Consume(t, addr, "clickstream", 1, 2*time.Second); len(got) != 0 {
		t.Fatal("pipeline broker wrote demo events without --demo")
	}
	b.Stop(t)
	// A second pipeline can take over the same data after a clean stop.
	b2 := harness.Start(t, "", nil, "broker", "--broker-port", fmt.Sprint(port), "--data-dir", dir)
	b2.WaitForOutput(t, "listening on "+addr, 30*time.Second)
	if got := harness.ConsumeExactly(t, addr, "standalone", 2, 10*time.Second); len(got) != 2 {
		t.Fatal("records lost across broker restart")
	}
}
