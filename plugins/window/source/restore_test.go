package source

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// gatedStore fails its first Load, then blocks the next until open is
// closed (or its context ends) and returns data.
type gatedStore struct {
	data []byte
	open chan struct{}

	mu       sync.Mutex
	loads    int
	canceled bool
}

func (s *gatedStore) Save(context.Context, int64, []byte) (partition.SnapshotRef, error) {
	return partition.SnapshotRef{}, errors.New("not used")
}
func (s *gatedStore) Forget(partition.SnapshotRef) {}

func (s *gatedStore) Load(ctx context.Context, _ partition.SnapshotRef) ([]byte, error) {
	s.mu.Lock()
	s.loads++
	first := s.loads == 1
	s.mu.Unlock()
	if first {
		return nil, errors.New("state topic unreachable")
	}
	select {
	case <-s.open:
		return s.data, nil
	case <-ctx.Done():
		s.mu.Lock()
		s.canceled = true
		s.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (s *gatedStore) state() (loads int, canceled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads, s.canceled
}

func restoreInput() *input {
	return &input{maxBatch: 2, parts: map[tp]*tracker{}, delayed: map[tp]*delayed{},
		restoring: map[tp]*restoring{}, halted: map[tp]struct{}{}, closed: make(chan struct{}),
		restoreWait: func(int) time.Duration { return 0 }}
}

// assign registers partition id of "ev" as onOffsetsFetched does.
func assign(in *input, id int32, r partition.Resume, start int64, store partition.StateStore) *partition.Partition {
	p := partition.NewPartition("ev", id, r, start, nil)
	p.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
	t := newTracker(p)
	in.mu.Lock()
	in.parts[tp{"ev", id}] = t
	if r.Snap != nil {
		in.startRestoreLocked(t)
	}
	in.mu.Unlock()
	return p
}

func fetched(id int32, from, n int64) kgo.Fetches {
	fp := kgo.FetchPartition{Partition: id, HighWatermark: from + n}
	for o := from; o < from+n; o++ {
		fp.Records = append(fp.Records, &kgo.Record{Topic: "ev", Partition: id, Offset: o})
	}
	return kgo.Fetches{{Topics: []kgo.FetchTopic{{Topic: "ev", Partitions: []kgo.FetchPartition{fp}}}}}
}

// deliveries takes every batch ready now, as "partition:first-last", and
// acknowledges it as the pipeline would.
func deliveries(in *input) []string {
	var got []string
	for {
		recs, b, ok := in.nextDelivery()
		if !ok {
			return got
		}
		pipelineAck(b, nil)
		got = append(got, fmt.Sprintf("%s/%d:%d-%d", b.Part.Topic, b.Part.ID, recs[0].Offset, b.Last))
	}
}

// A partition whose committed offset names a snapshot delivers nothing until
// the snapshot is read, retried after a failure, while another partition's
// batches flow; then its held records come in offset order from its
// committed offset, and the buffer finds the snapshot on the partition.
func TestRestoringPartitionWaitsForItsSnapshotAlone(t *testing.T) {
	in := restoreInput()
	store := &gatedStore{data: []byte("state"), open: make(chan struct{})}
	ref := &partition.SnapshotRef{At: 3, Chunks: 1}
	p0 := assign(in, 0, partition.Resume{Snap: ref}, 3, store)
	assign(in, 1, partition.Fresh, 0, nil)

	in.queue(fetched(0, 3, 3))
	in.queue(fetched(1, 0, 3))
	kafkatest.Eventually(t, 5*time.Second, "a second load after the first failed", func() bool {
		loads, _ := store.state()
		return loads >= 2
	})
	in.queue(fetched(0, 6, 1))
	if got := deliveries(in); len(got) != 2 || got[0] != "ev/1:0-1" || got[1] != "ev/1:2-2" {
		t.Fatalf("delivered %v while partition 0 restores; want only partition 1's ev/1:0-1, ev/1:2-2", got)
	}
	if _, err := p0.TakeSnapshot(); err == nil {
		t.Fatal("the snapshot was available before it was read")
	}

	close(store.open)
	kafkatest.Eventually(t, 5*time.Second, "partition 0's held records queued", func() bool {
		in.mu.Lock()
		defer in.mu.Unlock()
		return len(in.restoring) == 0
	})
	if got := deliveries(in); len(got) != 2 || got[0] != "ev/0:3-4" || got[1] != "ev/0:5-6" {
		t.Fatalf("delivered %v after the restore; want ev/0:3-4, ev/0:5-6", got)
	}
	if data, err := p0.TakeSnapshot(); err != nil || string(data) != "state" {
		t.Fatalf("snapshot %q, %v; want the loaded one", data, err)
	}
}

// A partition handed back while it restores stops its load and drops what
// it held; nothing of it is delivered.
func TestRestoringPartitionHandedBackStopsItsLoad(t *testing.T) {
	in := restoreInput()
	store := &gatedStore{data: []byte("state"), open: make(chan struct{})}
	assign(in, 0, partition.Resume{Snap: &partition.SnapshotRef{At: 3, Chunks: 1}}, 3, store)
	in.queue(fetched(0, 3, 2))
	kafkatest.Eventually(t, 5*time.Second, "the second load waiting", func() bool {
		loads, _ := store.state()
		return loads >= 2
	})
	in.handOver(context.Background(), nil, map[string][]int32{"ev": {0}}, false)
	kafkatest.Eventually(t, 5*time.Second, "the load canceled", func() bool {
		_, canceled := store.state()
		return canceled
	})
	in.queue(fetched(0, 5, 1)) // fetched before the client saw the revocation
	if got := deliveries(in); len(got) != 0 {
		t.Fatalf("delivered %v of a partition handed back", got)
	}
	in.mu.Lock()
	n := len(in.restoring)
	in.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d partitions still restoring", n)
	}
}

// A partition the buffer failed is read no further: its records are not
// queued (they would fail), until it is handed back.
func TestFailedPartitionIsNoLongerRead(t *testing.T) {
	in := restoreInput()
	p0 := assign(in, 0, partition.Fresh, 0, nil)
	assign(in, 1, partition.Fresh, 0, nil)
	in.queue(fetched(0, 0, 1))
	if got := deliveries(in); len(got) != 1 || got[0] != "ev/0:0-0" {
		t.Fatalf("delivered %v; want ev/0:0-0", got)
	}
	p0.Fail(errors.New("the snapshot does not restore"))
	in.queue(fetched(0, 1, 2))
	in.queue(fetched(1, 0, 1))
	if got := deliveries(in); len(got) != 1 || got[0] != "ev/1:0-0" {
		t.Fatalf("delivered %v after partition 0 failed; want only ev/1:0-0", got)
	}
	in.mu.Lock()
	_, halted := in.halted[tp{"ev", 0}]
	in.mu.Unlock()
	if !halted {
		t.Fatal("partition 0 is not halted")
	}
	in.handOver(context.Background(), nil, map[string][]int32{"ev": {0}}, false)
	in.mu.Lock()
	n := len(in.halted)
	in.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d partitions still halted after the hand-over", n)
	}
}
