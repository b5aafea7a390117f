package partition

import (
	"context"
	"fmt"
	"time"
)

// A partition whose windows stay open long (30 min sessions, a day's
// tumbling window) would make its new owner replay everything since the
// oldest open window's first event: the commit cannot pass an event whose
// window is not written. A snapshot of the partition's window state, taken
// at a batch boundary and written to a state topic, bounds that replay:
// once it is durable (and everything before the boundary is written or in
// it), the commit moves to the boundary and names the snapshot, and the new
// owner loads it before replaying from there (Kafka Streams' changelog
// restore, in one record set per snapshot).

// SnapshotRef names a snapshot of a partition's window state in the state
// topic: the chunks of one snapshot are consecutive records of one state
// partition from Offset on (a concurrent writer may interleave; readers
// match the keys).
type SnapshotRef struct {
	// At is the source offset the state was taken before: it holds every
	// event of the partition below At, and none at or after.
	At        int64 `json:"at"`
	Partition int32 `json:"p"`
	Offset    int64 `json:"o"`
	Chunks    int   `json:"n"`
	// Owner tells apart the snapshots that two owners of the partition
	// (one handed it back, one took it over, maybe the same process) take
	// of the same offset: their records' keys differ, so the tombstones of
	// the one forgotten never delete the other. Empty in snapshots written
	// before it existed.
	Owner string `json:"w,omitempty"`
}

func (r SnapshotRef) String() string {
	return fmt.Sprintf("state of offsets below %d (state partition %d, offset %d, %d chunks)", r.At, r.Partition, r.Offset, r.Chunks)
}

// StateStore keeps snapshots of one source partition's window state. The
// source implements it on its Kafka client; the buffer takes and restores
// the snapshots.
type StateStore interface {
	// Save writes data as the partition's state before source offset at and
	// returns once the broker has it.
	Save(ctx context.Context, at int64, data []byte) (SnapshotRef, error)
	// Load reads a snapshot back.
	Load(ctx context.Context, ref SnapshotRef) ([]byte, error)
	// Forget deletes a snapshot no commit names any more (best effort:
	// tombstones for the compacted topic).
	Forget(ref SnapshotRef)
}

// Snapshots configures a partition's snapshots: nil Store means none (the
// commit then waits for every open window, as without a state topic).
type Snapshots struct {
	Store StateStore
	// Every is the least time between two snapshots of the partition.
	Every time.Duration
}

// snapshotLoad is a partition's snapshot between the source reading it and
// the buffer restoring it.
type snapshotLoad struct {
	data   []byte
	loaded bool
	taken  bool
}

// LoadSnapshot reads the snapshot p's resume point names, if any, for the
// buffer to restore (TakeSnapshot). The source calls it, and retries it
// until it succeeds or p is handed back, before it delivers any batch of p:
// a batch windowed without the state of the offsets before it would emit
// windows missing their earlier events. Loading there, not in the buffer,
// keeps a slow or unreachable state topic from holding back the other
// partitions, whose batches the buffer takes one at a time.
func (p *Partition) LoadSnapshot(ctx context.Context) error {
	ref := p.Resume.Snap
	if ref == nil {
		return nil
	}
	if p.Snapshots.Store == nil {
		return fmt.Errorf("%s/%d: the committed offset names a %s, but the input takes no snapshots (state_interval 0s): resuming without it would emit its open windows without their earlier events", p.Topic, p.ID, ref)
	}
	data, err := p.Snapshots.Store.Load(ctx, *ref)
	if err != nil {
		return fmt.Errorf("%s/%d: cannot resume exactly: %w", p.Topic, p.ID, err)
	}
	p.mu.Lock()
	p.snap = snapshotLoad{data: data, loaded: true}
	p.mu.Unlock()
	return nil
}

// TakeSnapshot hands the loaded snapshot to the buffer, once (nil: p
// resumes without one). It fails if p's resume point names a snapshot that
// was not loaded, or was taken already.
func (p *Partition) TakeSnapshot() ([]byte, error) {
	ref := p.Resume.Snap
	if ref == nil {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.snap.taken:
		return nil, fmt.Errorf("%s/%d: the %s was taken already", p.Topic, p.ID, ref)
	case !p.snap.loaded:
		return nil, fmt.Errorf("%s/%d: the %s was not loaded before the partition's first batch", p.Topic, p.ID, ref)
	}
	data := p.snap.data
	p.snap = snapshotLoad{taken: true}
	return data, nil
}
