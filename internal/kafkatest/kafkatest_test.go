package kafkatest

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
