package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/streamkit/pipeline/tests/harness"
)

// legacyConfig is a shipped window config with Connect's redpanda input in
// place of window_kafka and the window buffer's write-ahead log on: the setup
// the buffer still offers Redpanda Connect users who keep the stock input
// (at least once; see the window spec). It returns the path of the
// rewritten config, in the test's temporary directory.
func legacyConfig(t *testing.T, config string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(harness.RepoRoot(), config))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	at := strings.Index(s, "window_kafka:\n")
	if at < 0 {
		t.Fatalf("%s has no window_kafka input", config)
	}
	lineStart := strings.LastIndex(s[:at], "\n") + 1
	indent := s[lineStart:at]
	// The block ends at the first line indented no deeper than its key.
	end := at + len("window_kafka:\n")
	for end < len(s) {
		next := strings.IndexByte(s[end:], '\n')
		line := s[end : end+next+1]
		if strings.TrimSpace(line) != "" && !strings.HasPrefix(line, indent+"  ") {
			break
		}
		end += next + 1
	}
	block := s[at:end]
	get := func(field string) string {
		i := strings.Index(block, field+": ")
		if i < 0 {
			t.Fatalf("%s: window_kafka has no %s", config, field)
		}
		v := block[i+len(field)+2:]
		return v[:strings.IndexByte(v, '\n')]
	}
	p := indent + "  "
	redpanda := "redpanda:\n" +
		// The anchor the config's other Kafka components refer to (*brokers).
		p + `seed_brokers: &brokers [ "${KAFKA_BROKERS:127.0.0.1:9092}" ]` + "\n" +
		p + "topics: " + get("topics") + "\n" +
		p + "consumer_group: " + get("consumer_group") + "\n" +
		p + "instance_id: ${PIPELINE_INSTANCE_ID:}\n" +
		p + "start_offset: earliest\n" +
		p + "fetch_max_wait: 100ms\n" +
		p + "partition_buffer_bytes: 32MB\n" +
		p + "unordered_processing:\n" +
		p + "  enabled: true\n" +
		p + "  checkpoint_limit: 1000000\n" +
		p + "  batching: { count: 2000, period: 10ms }\n"
	s = s[:at] + redpanda + s[end:]
	if !strings.Contains(s, "\nbuffer:\n  window:\n") {
		t.Fatalf("%s: no window buffer", config)
	}
	s = strings.Replace(s, "\nbuffer:\n  window:\n", "\nbuffer:\n  window:\n    wal:\n      dir: ${WINDOW_WAL_DIR:}\n", 1)
	path := filepath.Join(t.TempDir(), filepath.Base(config))
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
