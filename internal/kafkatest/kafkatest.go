// Package kafkatest is the one Kafka test kit of the project: an in-process
// broker (franz-go's kfake), topics, producing, consuming with deadlines,
// committed offsets, a Benthos stream run for the length of a test, and
// Eventually for conditions that become true asynchronously. Every helper
// fails the test with what it was doing and why, and nothing sleeps for a
// fixed time.
package kafkatest

import (
	"context"
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

// CreateTopics creates topics with the given partition count.
func CreateTopics(t testing.TB, addr string, partitions int32, topics ...string) {
	t.Helper()
	cl := shortClient(t, addr)
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

// FetchOffsets reads group's committed offsets, with their metadata.
func FetchOffsets(t testing.TB, addr, group string) kadm.OffsetResponses {
	t.Helper()
	cl := shortClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	return offs
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
	cl := shortClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		t.Fatalf("describe group %s: %v", group, err)
	}
	d, ok := ds[group]
	if !ok || d.Err != nil || d.State != "Stable" {
		return 0
	}
	return len(d.AssignedPartitions()[topic])
}
