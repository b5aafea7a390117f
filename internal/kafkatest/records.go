package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce writes records (each names its topic and, when the partition
// matters, its partition) and waits until the broker acknowledged all.
func Produce(t testing.TB, addr string, recs ...*kgo.Record) {
	t.Helper()
	ProduceWith(t, addr, nil, recs...)
}

// ProduceWith is Produce by a client with more options (SASL, TLS).
func ProduceWith(t testing.TB, addr string, opts []kgo.Opt, recs ...*kgo.Record) {
	t.Helper()
	cl := shortClient(t, addr, append([]kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5 * time.Millisecond),
		kgo.MaxBufferedRecords(1 << 20),
		// Room for the > 1 MB records of the bad-input corpus.
		kgo.ProducerBatchMaxBytes(2 << 20)}, opts...)...)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records: %v", len(recs), err)
	}
}

// ProduceByKey writes records to topic with the partitions a Kafka
// producer picks (by key hash; keyless records spread), as applications do.
func ProduceByKey(t testing.TB, addr, topic string, recs ...*kgo.Record) {
	t.Helper()
	cl := shortClient(t, addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(1<<20), kgo.ProducerBatchMaxBytes(2<<20))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	for _, r := range recs {
		r.Topic = topic
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce %d records to %s: %v", len(recs), topic, err)
	}
}

// ProduceTo writes records to partition 0 of topic.
func ProduceTo(t testing.TB, addr, topic string, recs ...*kgo.Record) {
	t.Helper()
	for _, r := range recs {
		r.Topic, r.Partition = topic, 0
	}
	Produce(t, addr, recs...)
}

// KV makes a record from a key ("" = no key) and a value.
func KV(key, value string) *kgo.Record {
	r := &kgo.Record{Value: []byte(value)}
	if key != "" {
		r.Key = []byte(key)
	}
	return r
}

// Consume reads topic from the start until n records arrived or the
// deadline passed, and returns what it has. It never commits, so it can be
// called again.
func Consume(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	cl := shortClient(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	defer cl.Close()
	return read(cl, n, deadline)
}

// ConsumeCommitted is Consume as a read-committed reader (records of
// aborted transactions are not there, as for a reader of a transactional
// step's output) that creates no topic (see NewClient).
func ConsumeCommitted(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	cl, err := NewClient(addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	return read(cl, n, deadline)
}

// read polls cl until n records arrived or the deadline passed.
func read(cl *kgo.Client, n int, deadline time.Duration) []*kgo.Record {
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	return out
}

// ConsumeN reads n records and fails the test if fewer arrive by the
// deadline.
func ConsumeN(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	got := Consume(t, addr, topic, n, deadline)
	if len(got) < n {
		t.Fatalf("topic %s: got %d records within %v, want %d", topic, len(got), deadline, n)
	}
	return got
}

// ConsumeExactly is ConsumeN that also fails if more than n records are
// there a moment after.
func ConsumeExactly(t testing.TB, addr, topic string, n int, deadline time.Duration) []*kgo.Record {
	t.Helper()
	got := ConsumeN(t, addr, topic, n, deadline)
	if extra := Consume(t, addr, topic, n+1, 2*time.Second); len(extra) > n {
		t.Fatalf("topic %s: got %d records, want exactly %d", topic, len(extra), n)
	}
	return got
}

// Header returns the value of header k, or "" when absent.
func Header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// Headers returns a record's headers as a map (the last of a repeated key).
func Headers(r *kgo.Record) map[string]string {
	m := make(map[string]string, len(r.Headers))
	for _, h := range r.Headers {
		m[h.Key] = string(h.Value)
	}
	return m
}
