package tests

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
)

// Issue 14 point 7: `pipeline --help` says what this binary is for, not
// Benthos' "stream processor for mundane tasks".
func TestHelpDescribesThisProject(t *testing.T) {
	out, err := runBinary(t, nil, "--help")
	if err != nil {
		t.Fatalf("pipeline --help: %v\n%s", err, out)
	}
	for _, want := range []string{"pipeline - Kafka stream jobs as YAML", "event-time windows", "pipeline demo", "pipeline broker", "embedded Kafka broker"} {
		if !strings.Contains(out, want) {
			t.Errorf("pipeline --help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "mundane") {
		t.Errorf("pipeline --help still has Benthos' summary:\n%s", out)
	}
}

// `pipeline broker` starts a broker and nothing else, and a second one on
// the same data directory refuses to start instead of rewriting its files.
func TestBrokerCommandStartsOnlyABrokerAndLocksItsDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	port := harness.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	b := harness.Start(t, "", []string{"KAFKA_BROKERS=", "PROFILE_URL="}, "broker", "--broker-port", fmt.Sprint(port), "--data-dir", dir)
	b.WaitForOutput(t, "embedded Kafka broker listening on "+addr, 30*time.Second)
	harness.Produce(t, addr, "only-broker", harness.KV("k", "v"))
	for _, unwanted := range []string{"profile service", "demo producer"} {
		if strings.Contains(b.Output(), unwanted) {
			t.Errorf("pipeline broker started a %s:\n%s", unwanted, b.Output())
		}
	}
	if !strings.Contains(b.Output(), "job=broker") {
		t.Errorf("the broker's log lines do not say job=broker:\n%s", b.Output())
	}

	out, err := runBinary(t, []string{"KAFKA_BROKERS="}, "broker", "--broker-port", fmt.Sprint(harness.FreePort(t)), "--data-dir", dir)
	if err == nil {
		t.Fatalf("a second broker started on %s:\n%s", dir, out)
	}
	for _, want := range []string{dir, "data directory in use", "--data-dir"} {
		if !strings.Contains(out, want) {
			t.Errorf("second broker's error lacks %q:\n%s", want, out)
		}
	}
	// The first one is untouched.
	if got := harness.ConsumeExactly(t, addr, "only-broker", 1, 10*time.Second); string(got[0].Value) != "v" {
		t.Fatalf("first broker's record: %q", got[0].Value)
	}
}

// kafka-python asks for metadata with a version that has no
// allow_auto_topic_creation field; the embedded broker must still create a
// new topic for it, as Kafka does, instead of letting it wait 60 s and fail.
func TestKafkaPythonProducesToANewTopicOnTheEmbeddedBroker(t *testing.T) {
	python := "/usr/bin/python3"
	if out, err := exec.Command(python, "-c", "import kafka").CombinedOutput(); err != nil {
		t.Fatalf("kafka-python is required (apt-get install python3-kafka): %v %s", err, out)
	}
	brokers := harness.StartBroker(t)
	script := `
import sys
from kafka import KafkaProducer
p = KafkaProducer(bootstrap_servers=sys.argv[1], max_block_ms=15000)
p.send("brand-new-topic", key=b"k", value=b"from kafka-python").get(timeout=15)
p.flush()
print("sent")
`
	cmd := exec.Command(python, "-c", script, brokers)
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("kafka-python did not finish within 30s: %s", out)
	}
	if err != nil || !strings.Contains(string(out), "sent") {
		t.Fatalf("kafka-python producing to a new topic: %v\n%s", err, out)
	}
	if got := harness.ConsumeExactly(t, brokers, "brand-new-topic", 1, 10*time.Second); string(got[0].Value) != "from kafka-python" {
		t.Fatalf("record %q", got[0].Value)
	}
}
