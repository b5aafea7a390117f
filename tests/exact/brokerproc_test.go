package exact

import (
	"context"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestBrokerProcessKeepsRecordsAndOffsets checks what the broker scenarios
// take for granted: after the broker process is killed (SIGKILL) or stopped
// (SIGTERM) and started again on the same port and data directory, its
// records and a group's committed offsets are all there. Otherwise those
// scenarios would test the broker, not the job.
func TestBrokerProcessKeepsRecordsAndOffsets(t *testing.T) {
	b := harness.StartBrokerProcess(t)
	harness.CreateTopics(t, b.Addr, 6, EventsTopic)
	ds := Generate(ShortData(1))
	ProduceAll(t, b.Addr, ds)
	commit := kadm.Offsets{}
	for p := int32(0); p < 6; p++ {
		commit.Add(kadm.Offset{Topic: EventsTopic, Partition: p, At: int64(10 + p), LeaderEpoch: -1, Metadata: "m"})
	}
	adm := func() (*kadm.Client, func()) {
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr))
		if err != nil {
			t.Fatal(err)
		}
		return kadm.NewClient(cl), cl.Close
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, done := adm()
	if err := a.CommitAllOffsets(ctx, "g", commit); err != nil {
		t.Fatalf("commit: %v", err)
	}
	done()
	for _, restart := range []struct {
		name string
		stop func()
	}{{"SIGKILL", b.Kill}, {"SIGTERM", b.Stop}} {
		restart.stop()
		b.Restart()
		a, done := adm()
		ends, err := a.ListEndOffsets(ctx, EventsTopic)
		if err != nil {
			t.Fatalf("after %s: end offsets: %v", restart.name, err)
		}
		var total int64
		ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
		if total != int64(len(ds.Events)) {
			t.Errorf("after %s: the topic ends at %d records in total, %d were produced", restart.name, total, len(ds.Events))
		}
		got, err := a.FetchOffsets(ctx, "g")
		if err != nil {
			t.Fatalf("after %s: fetch offsets: %v", restart.name, err)
		}
		for p := int32(0); p < 6; p++ {
			o, ok := got.Lookup(EventsTopic, p)
			if !ok || o.At != int64(10+p) || o.Metadata != "m" {
				t.Errorf("after %s: committed offset of partition %d is %+v (found %v), want %d with metadata m", restart.name, p, o, ok, 10+p)
			}
		}
		done()
	}
}
