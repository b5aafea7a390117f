// Package harness is the end-to-end test kit: a real Kafka-protocol broker
// (franz-go's kfake) on a free loopback port, franz-go producers and
// consumers with deadlines, and the built `pipeline` binary run as a child
// process. Tests of every plugin use it to prove behaviour over TCP.
package harness

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/twmb/franz-go/pkg/kadm"
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
	cl := newClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}

// CommittedOffsets sums the committed offsets of group on topic.
func CommittedOffsets(t testing.TB, addr, group, topic string) int64 {
	t.Helper()
	var sum int64
	for _, ps := range fetchOffsets(t, addr, group)[topic] {
		sum += ps.At
	}
	return sum
}

// fetchOffsets reads group's committed offsets, with their metadata.
func fetchOffsets(t testing.TB, addr, group string) kadm.OffsetResponses {
	t.Helper()
	cl := newClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	return offs
}

func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}
