package exact

import (
	"bytes"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGenerateKeepsItsPromises checks what the scenarios rely on: the same
// seed gives the same bytes; every user stays on the partition Kafka's key
// partitioner gives it; per partition no on-time event is Disorder or more
// behind one sent before it; each deliberately late event is an hour behind
// its partition; the busy partitions carry several times the events; no
// partition pauses a wall-clock idle_timeout (3 s) while data is produced.
func TestGenerateKeepsItsPromises(t *testing.T) {
	for seed := int64(1); seed <= 10; seed++ {
		checkGenerated(t, ShortData(seed))
	}
}

func checkGenerated(t *testing.T, o GenOptions) {
	t.Helper()
	ds, again := Generate(o), Generate(o)
	if len(ds.Events) != len(again.Events) {
		t.Fatalf("same seed, %d then %d events", len(ds.Events), len(again.Events))
	}
	for i := range ds.Events {
		if !bytes.Equal(ds.Events[i].Value, again.Events[i].Value) {
			t.Fatalf("same seed, event %d differs: %s vs %s", i, ds.Events[i].Value, again.Events[i].Value)
		}
	}
	part := kgo.StickyKeyPartitioner(nil).ForTopic(EventsTopic)
	newest := map[int32]time.Time{}
	lastSend := map[int32]time.Duration{}
	perPartition := map[int32]int{}
	late := 0
	for _, e := range ds.Events {
		if p := part.Partition(&kgo.Record{Key: []byte(e.User)}, o.Partitions); int32(p) != e.Partition {
			t.Fatalf("user %s on partition %d, the key partitioner says %d", e.User, e.Partition, p)
		}
		if gap := e.SendAt - lastSend[e.Partition]; gap/Speed >= 3*time.Second {
			t.Errorf("seed %d: partition %d pauses %v of event time (%v of wall time) before %s", o.Seed, e.Partition, gap, gap/Speed, e.Value)
		}
		lastSend[e.Partition] = e.SendAt
		if e.Late {
			late++
			if behind := newest[e.Partition].Sub(e.TS); behind != time.Hour {
				t.Errorf("late event %s is %v behind its partition, want 1h", e.Value, behind)
			}
			continue
		}
		perPartition[e.Partition]++
		if behind := newest[e.Partition].Sub(e.TS); behind >= o.Disorder {
			t.Errorf("event %s is %v behind its partition (disorder bound %v)", e.Value, behind, o.Disorder)
		}
		if e.TS.After(newest[e.Partition]) {
			newest[e.Partition] = e.TS
		}
	}
	if late != o.Late {
		t.Errorf("%d late events, want %d", late, o.Late)
	}
	for p := 0; p < o.BusyPartitions; p++ {
		for q := o.BusyPartitions; q < o.Partitions; q++ {
			if perPartition[int32(p)] < 3*perPartition[int32(q)] {
				t.Errorf("busy partition %d has %d events, quiet partition %d has %d: want at least 3x", p, perPartition[int32(p)], q, perPartition[int32(q)])
			}
		}
	}
}
