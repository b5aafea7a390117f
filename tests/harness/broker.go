// Package harness is the end-to-end test kit: the project's embedded broker
// on a free loopback port and the built `pipeline` binary run as a child
// process. Kafka clients (topics, produce, consume, committed offsets) are
// internal/kafkatest's; the names here are kept for the tests that use them.
package harness

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// StartBroker runs an in-memory embedded broker on a free port, closed when
// the test ends.
func StartBroker(t testing.TB) string {
	t.Helper()
	b, err := embedded.Start(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(b.Close)
	return b.Addr()
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr is FreePort as host:port.
func FreeAddr(t testing.TB) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}

// CreateTopics creates topics with the given partition count.
func CreateTopics(t testing.TB, addr string, partitions int32, topics ...string) {
	t.Helper()
	kafkatest.CreateTopics(t, addr, partitions, topics...)
}

// CommittedOffsets sums the committed offsets of group on topic.
func CommittedOffsets(t testing.TB, addr, group, topic string) int64 {
	t.Helper()
	return kafkatest.CommittedSum(t, addr, group, topic)
}

// Produce writes records to topic (partitions by key, as a producer picks
// them) and waits until the broker acknowledged all of them.
func Produce(t testing.TB, addr, topic string, recs ...*kgo.Record) {
	t.Helper()
	kafkatest.ProduceByKey(t, addr, topic, recs...)
}

// KV makes a record from a key and value.
func KV(key, value string) *kgo.Record { return kafkatest.KV(key, value) }

// Consume reads topic from the start until n records arrived or the
// deadline passed, and returns what it has. It never commits, so it can be
// called again.
func Consume(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	return kafkatest.Consume(t, addr, topic, n, deadline)
}

// ConsumeExactly reads n records and fails the test if fewer arrive by the
// deadline, or if more than n are there a moment after.
func ConsumeExactly(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	return kafkatest.ConsumeExactly(t, addr, topic, n, deadline)
}

// Header returns the value of header k, or "" when absent.
func Header(r *kgo.Record, k string) string { return kafkatest.Header(r, k) }
