package source

import (
	"testing"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// stubSink is the buffer's side of a partition with a fixed resume point.
type stubSink struct {
	resume partition.Resume
	asked  []int64
}

func (s *stubSink) Checkpoint(next int64) partition.Resume {
	s.asked = append(s.asked, next)
	return s.resume
}
func (s *stubSink) Committed()     {}
func (s *stubSink) Covered() int64 { return -1 }
func (s *stubSink) Drop()          {}

// A partition that delivered nothing keeps its committed offset until the
// buffer holds its state (announced on assignment); from then on the
// commit of that offset carries what the buffer says, e.g. that idleness
// closed the windows of the snapshot it was assigned with.
func TestQuietPartitionCommitsTheBuffersResumePoint(t *testing.T) {
	assigned := partition.Resume{Watermark: 100, Released: 50, Snap: &partition.SnapshotRef{At: 40}}
	p := partition.NewPartition("ev", 0, assigned, 40, nil)
	tr := newTracker(p)
	if off, _, changed := tr.commitPoint(); changed || off != -1 {
		t.Fatalf("commit point %d (changed %v) before the buffer holds the partition: want none", off, changed)
	}
	later := partition.Resume{Watermark: 900, Released: 900, Snap: assigned.Snap}
	sink := &stubSink{resume: later}
	p.Attach(func() partition.Sink { return sink })
	off, meta, changed := tr.commitPoint()
	if off != 40 || !changed || meta != later.Encode() || len(sink.asked) != 1 || sink.asked[0] != 40 {
		t.Fatalf("commit point %d %q (changed %v, checkpoints asked %v): want offset 40 with the buffer's resume point %q", off, meta, changed, sink.asked, later.Encode())
	}
	tr.committedAt(off, meta)
	if _, _, changed := tr.commitPoint(); changed {
		t.Fatal("the same resume point is committed again")
	}
}

// A partition nothing was ever committed for has no offset to commit
// before it delivers.
func TestFreshQuietPartitionCommitsNothing(t *testing.T) {
	p := partition.NewPartition("ev", 0, partition.Fresh, -1, nil)
	p.Attach(func() partition.Sink { return &stubSink{resume: partition.Fresh} })
	if off, _, changed := newTracker(p).commitPoint(); changed || off != -1 {
		t.Fatalf("commit point %d (changed %v) for a partition with no committed offset", off, changed)
	}
}
