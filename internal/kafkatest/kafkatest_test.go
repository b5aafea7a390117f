package kafkatest

import (
	"context"
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestProduceConsumeAndCommitted(t *testing.T) {
	addr := Cluster(t, 2, "a")
	Produce(t, addr, &kgo.Record{Topic: "a", Partition: 1, Key: []byte("k"), Value: []byte("v1"),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("x")}}})
	ProduceTo(t, addr, "a", KV("", "v0"))
	got := ConsumeExactly(t, addr, "a", 2, 10*time.Second)
	byValue := map[string]*kgo.Record{}
	for _, r := range got {
		byValue[string(r.Value)] = r
	}
	if r := byValue["v1"]; r == nil || r.Partition != 1 || string(r.Key) != "k" || Header(r, "h") != "x" || Headers(r)["h"] != "x" {
		t.Errorf("v1 record %+v", r)
	}
	if r := byValue["v0"]; r == nil || r.Partition != 0 || r.Key != nil {
		t.Errorf("v0 record %+v", r)
	}
	g := Client(t, addr, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("a"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	var recs []*kgo.Record
	Eventually(t, 10*time.Second, "the group to fetch both records", func() bool {
		recs = append(recs, g.PollFetches(t.Context()).Records()...)
		return len(recs) == 2
	})
	if err := g.CommitRecords(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	if c := Committed(t, addr, "g", "a", 1); c != 1 {
		t.Errorf("Committed(a/1) = %d, want 1", c)
	}
	if c := Committed(t, addr, "g", "b", 0); c != -1 {
		t.Errorf("Committed of a topic the group never read = %d, want -1", c)
	}
	if sum := CommittedSum(t, addr, "g", "a"); sum != 2 {
		t.Errorf("CommittedSum = %d, want 2 (one record on each partition)", sum)
	}
}

func TestEventuallyWaitsAndWithinTimesOut(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	Eventually(t, 5*time.Second, "three increments", func() bool { return n.Load() == 3 })
	if Within(30*time.Millisecond, func() bool { return false }) {
		t.Error("Within reported a condition that never holds")
	}
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		Eventually(ft, 20*time.Millisecond, "the impossible", func() bool { return false })
	}()
	if !strings.Contains(ft.msg, "the impossible") {
		t.Errorf("Eventually's failure %q does not name what it waited for", ft.msg)
	}
}

// fakeTB records Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	msg string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.msg = strings.TrimSpace(format)
	for _, a := range args {
		f.msg += " " + strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(fmtAny(a), "\n", " "), "\t", " "))
	}
	panic("fatal")
}

func fmtAny(a any) string {
	if s, ok := a.(string); ok {
		return s
	}
	if d, ok := a.(time.Duration); ok {
		return d.String()
	}
	return ""
}

func TestAssignedCountsTheGroupsPartitions(t *testing.T) {
	addr := Cluster(t, 3, "a")
	if n := Assigned(t, addr, "g", "a"); n != 0 {
		t.Errorf("Assigned before any member = %d", n)
	}
	Client(t, addr, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("a"))
	Eventually(t, 10*time.Second, "the member to hold the 3 partitions", func() bool {
		return Assigned(t, addr, "g", "a") == 3
	})
}

// topicExists asks the broker without creating anything.
func topicExists(t *testing.T, addr, topic string) bool {
	t.Helper()
	cl := ClientNoAutoTopics(t, addr)
	td, err := kadm.NewClient(cl).ListTopics(t.Context(), topic)
	if err != nil {
		t.Fatalf("list topic %s: %v", topic, err)
	}
	d, ok := td[topic]
	return ok && d.Err == nil
}

func TestClientNoAutoTopicsAndConsumeCommittedCreateNoTopic(t *testing.T) {
	addr := Cluster(t, 1)
	cl := ClientNoAutoTopics(t, addr, kgo.ConsumeTopics("unmade"))
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	cl.PollFetches(ctx)
	cancel()
	if topicExists(t, addr, "unmade") {
		t.Error("a ClientNoAutoTopics consumer created its topic")
	}
	if got := ConsumeCommitted(t, addr, "unmade-too", 1, 500*time.Millisecond); len(got) != 0 || topicExists(t, addr, "unmade-too") {
		t.Errorf("ConsumeCommitted of a missing topic read %d records or created it", len(got))
	}
	// The other clients of the kit do create topics: the check above can fail.
	Consume(t, addr, "made", 1, 500*time.Millisecond)
	if !topicExists(t, addr, "made") {
		t.Error("Consume did not create its topic: topicExists cannot tell")
	}
	if _, err := NewClient(addr, kgo.ConsumeTopics("")); err == nil || !strings.Contains(err.Error(), addr) {
		t.Errorf("NewClient with an empty topic: %v, want an error naming %s", err, addr)
	}
}

func TestConsumeCommittedSkipsAbortedTransactions(t *testing.T) {
	addr := Cluster(t, 1, "tx")
	p := Client(t, addr, kgo.TransactionalID("kafkatest"), kgo.DefaultProduceTopic("tx"))
	for _, end := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		v := map[kgo.TransactionEndTry]string{kgo.TryAbort: "aborted", kgo.TryCommit: "committed"}[end]
		if err := p.ProduceSync(t.Context(), KV("", v)).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := p.EndTransaction(t.Context(), end); err != nil {
			t.Fatal(err)
		}
	}
	if got := ConsumeCommitted(t, addr, "tx", 2, 2*time.Second); len(got) != 1 || string(got[0].Value) != "committed" {
		t.Errorf("ConsumeCommitted read %d records (%v), want only the committed one", len(got), got)
	}
	if all := ConsumeN(t, addr, "tx", 2, 10*time.Second); len(all) != 2 {
		t.Errorf("Consume (read-uncommitted) read %d records, want the aborted one too", len(all))
	}
}

func TestCommitOffsetsAndEndOffsets(t *testing.T) {
	addr := Cluster(t, 2, "a")
	Produce(t, addr, &kgo.Record{Topic: "a", Partition: 1, Value: []byte("1")}, &kgo.Record{Topic: "a", Partition: 1, Value: []byte("2")},
		&kgo.Record{Topic: "a", Partition: 1, Value: []byte("3")}, &kgo.Record{Topic: "a", Partition: 0, Value: []byte("4")})
	if got := EndOffsets(t, addr, "a"); !maps.Equal(got, map[int32]int64{0: 1, 1: 3}) {
		t.Errorf("EndOffsets = %v, want partition 0 at 1 and 1 at 3", got)
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "a", Partition: 1, At: 2, LeaderEpoch: -1, Metadata: "m"})
	CommitOffsets(t, addr, "g", offs)
	if o, ok := FetchOffsets(t, addr, "g").Lookup("a", 1); !ok || o.At != 2 || o.Metadata != "m" {
		t.Errorf("committed a/1 = %+v (found %v), want 2 with metadata m", o, ok)
	}
	if c := Committed(t, addr, "g", "a", 0); c != -1 {
		t.Errorf("Committed of a partition CommitOffsets left out = %d, want -1", c)
	}
}
