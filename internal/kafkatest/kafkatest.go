// Package kafkatest is the one Kafka test kit of the project: an in-process
// broker (franz-go's kfake), clients, topics, producing, consuming with
// deadlines (read-committed too), committed and end offsets, a Benthos
// stream run for the length of a test, and Eventually for conditions that
// become true asynchronously. Every helper but NewClient fails the test with
// what it was doing and why, and nothing sleeps for a fixed time.
package kafkatest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Cluster starts a one-broker kfake cluster with topics of the given
// partition count (others are created on first use) and returns its
// address; it is closed when the test ends.
func Cluster(t testing.TB, partitions int32, topics ...string) string {
	t.Helper()
	return ClusterWith(t, partitions, topics)
}

// ClusterWith is Cluster with more kfake options (SASL, ACLs, ...).
func ClusterWith(t testing.TB, partitions int32, topics []string, more ...kfake.Opt) string {
	t.Helper()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation()}
	if len(topics) > 0 {
		opts = append(opts, kfake.SeedTopics(partitions, topics...))
	}
	c, err := kfake.NewCluster(append(opts, more...)...)
	if err != nil {
		t.Fatalf("start kfake cluster: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// Client returns a franz-go client of addr (topics auto-created), closed
// when the test ends.
func Client(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client of %s: %v", addr, err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// NewClient returns a client of addr with only opts, which the caller
// closes. Unlike Client it creates no topic on first use, so a topic that
// the code under test creates itself (a compacted state topic, a
// repartition topic with its partition count) is not created first, with
// the broker's defaults, by the test's reader; and it returns an error
// instead of failing a test, for helpers that outlive a test call (a
// producer that reconnects after a broker restart).
func NewClient(addr string, opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafka client of %s: %w", addr, err)
	}
	return cl, nil
}

// ClientNoAutoTopics is Client without automatic topic creation (see
// NewClient), closed when the test ends.
func ClientNoAutoTopics(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := NewClient(addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// shortClient is a client the caller closes at once (helpers called in
// loops must not pile up clients until the test ends).
func shortClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.AllowAutoTopicCreation()}, opts...)...)
	if err != nil {
		t.Fatalf("kafka client of %s: %v", addr, err)
	}
	return cl
}

// admin is an admin client of addr with a deadline of 10 s for its
// requests; done closes it.
func admin(t testing.TB, addr string) (context.Context, *kadm.Client, func()) {
	t.Helper()
	cl := shortClient(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	return ctx, kadm.NewClient(cl), func() { cancel(); cl.Close() }
}

// CreateTopics creates topics with the given partition count.
func CreateTopics(t testing.TB, addr string, partitions int32, topics ...string) {
	t.Helper()
	ctx, adm, done := admin(t, addr)
	defer done()
	resp, err := adm.CreateTopics(ctx, partitions, 1, nil, topics...)
	if err != nil {
		t.Fatalf("create topics %v: %v", topics, err)
	}
	for _, r := range resp {
		if r.Err != nil {
			t.Fatalf("create topic %s: %v", r.Topic, r.Err)
		}
	}
}

// FetchOffsets reads group's committed offsets, with their metadata.
func FetchOffsets(t testing.TB, addr, group string) kadm.OffsetResponses {
	t.Helper()
	ctx, adm, done := admin(t, addr)
	defer done()
	offs, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	return offs
}

// CommitOffsets commits offsets for group, as a member of it would.
func CommitOffsets(t testing.TB, addr, group string, offsets kadm.Offsets) {
	t.Helper()
	ctx, adm, done := admin(t, addr)
	defer done()
	if err := adm.CommitAllOffsets(ctx, group, offsets); err != nil {
		t.Fatalf("commit offsets of %s: %v", group, err)
	}
}

// EndOffsets returns the end offset (the offset the next record gets) of
// each partition of topic.
func EndOffsets(t testing.TB, addr, topic string) map[int32]int64 {
	t.Helper()
	ctx, adm, done := admin(t, addr)
	defer done()
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// Committed returns group's committed offset of topic/partition, -1 when
// none.
func Committed(t testing.TB, addr, group, topic string, partition int32) int64 {
	t.Helper()
	o, ok := FetchOffsets(t, addr, group).Lookup(topic, partition)
	if !ok || o.Err != nil {
		return -1
	}
	return o.At
}

// CommittedSum sums group's committed offsets over the partitions of topic.
func CommittedSum(t testing.TB, addr, group, topic string) int64 {
	t.Helper()
	var sum int64
	for _, ps := range FetchOffsets(t, addr, group)[topic] {
		sum += ps.At
	}
	return sum
}

// Assigned returns how many partitions of topic group's members hold
// (0 while the group is not Stable): a consumer that holds them is
// fetching them.
func Assigned(t testing.TB, addr, group, topic string) int {
	t.Helper()
	ctx, adm, done := admin(t, addr)
	defer done()
	ds, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	d, ok := ds[group]
	if !ok || d.Err != nil || d.State != "Stable" {
		return 0
	}
	return len(d.AssignedPartitions()[topic])
}
