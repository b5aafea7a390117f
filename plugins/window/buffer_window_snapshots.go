package window

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// Snapshots bound the replay of a window_kafka partition whose windows stay
// open long (see partition/state.go). Without them its commit cannot pass
// the first event of its oldest open window; with them:
//
//  1. Every state_interval, right after a source batch ending before offset
//     `at` is windowed (and the windows it closed are queued), the
//     partition's engine state is captured: it holds exactly the events
//     below `at` that are in open windows.
//  2. Failed events below `at` still on the retry ladder belong in it too:
//     a copy counted later is recorded as an amendment (with the judge
//     watermark and arrival number it gets here), and the snapshot is
//     sealed once no event below `at` is on the ladder.
//  3. The sealed snapshot is written to the state topic.
//  4. It covers the offsets below `at` once it is durable, every window
//     that closed before the capture is written, and the pass-through of
//     every offset below `at` is written: then everything below `at` is in
//     the results topic, the dead-letter or retry topics, or the snapshot.
//     The source may commit up to `at` although those batches' windows are
//     open, and the commit names the snapshot; the new owner restores it
//     and replays from the committed offset.
//
// Anything that breaks a condition (a write that failed, a retry copy that
// came after its hold expired) abandons the snapshot; the next one is taken
// an interval later, and meanwhile the commit works as without snapshots.
type partSnaps struct {
	store partition.StateStore // nil: off
	every time.Duration

	lastCapture int64 // wall clock
	pending     *pendingSnap
	// effective is the newest snapshot that covers its offsets (or the
	// one this owner restored): every checkpoint at or after its offset
	// names it until a newer one is effective.
	effective *partition.SnapshotRef
	// superseded are earlier effective snapshots, oldest first, kept until
	// a commit names one at least as new: a checkpoint may come for an
	// offset below effective's (the source asked Covered, then a newer
	// one became effective before it asked Checkpoint) and must still
	// name a snapshot holding what it no longer waits for.
	superseded     []*partition.SnapshotRef
	checkpointed   *partition.SnapshotRef // named by the last checkpoint
	committed      *partition.SnapshotRef // named by the last commit
	roundFailed    atomic.Bool            // a window write failed: no more coverage
	roundSeq       int64                  // rounds queued so far (relMu)
	releasedRounds int64                  // rounds released, oldest first (relMu)
}

type pendingSnap struct {
	at       int64 // source offset: the snapshot holds the events below it
	snap     *engine.Snapshot
	rounds   int64 // rounds queued before the capture: all must be written
	sealed   bool  // handed to the writer: no more amendments
	saved    *partition.SnapshotRef
	failed   bool
	captured int64 // wall clock (pendingLimit)
}

type snapMetrics struct {
	written, restored, abandoned *service.MetricCounter
	bytes                        *service.MetricGauge
}

func newSnapMetrics(mgr *service.Resources) snapMetrics {
	if mgr == nil {
		return snapMetrics{}
	}
	m := mgr.Metrics()
	return snapMetrics{
		written:   m.NewCounter("window_snapshots_written"),
		restored:  m.NewCounter("window_snapshots_restored"),
		abandoned: m.NewCounter("window_snapshots_abandoned"),
		bytes:     m.NewGauge("window_snapshot_bytes"),
	}
}

// restoreSnapshot sets up ps's snapshots and restores data, the snapshot
// its resume point names (nil: none).
func (ps *partState) restoreSnapshot(data []byte) error {
	p := ps.part
	ps.snaps.store = p.Snapshots.Store
	ps.snaps.every = p.Snapshots.Every
	// The first snapshot an interval after the start, not at once: a
	// restart with a backlog would otherwise snapshot its first batch.
	ps.snaps.lastCapture = ps.b.clock().UnixNano()
	if data == nil {
		return nil
	}
	ref := p.Resume.Snap
	if err := ps.eng.Restore(data); err != nil {
		return fmt.Errorf("window: %s/%d: the %s cannot be restored: %w", p.Topic, p.ID, ref, err)
	}
	ps.snaps.effective, ps.snaps.committed = ref, ref
	b := ps.b
	if b.sm.restored != nil {
		b.sm.restored.Incr(1)
		b.sm.bytes.Set(int64(len(data)))
	}
	if b.log != nil {
		b.log.Infof("window: %s/%d: restored the %s: %d open window states", p.Topic, p.ID, ref, ps.eng.Open())
	}
	return nil
}

// snapshotAfterLocked runs after a source batch ending before offset at
// was windowed: it captures a snapshot when one is due.
func (ps *partState) snapshotAfterLocked(at, now int64) {
	s := &ps.snaps
	if s.store == nil || s.every <= 0 || s.pending != nil || now-s.lastCapture < int64(s.every) ||
		ps.eng.Open() == 0 || s.roundFailed.Load() {
		return
	}
	s.lastCapture = now
	ps.relMu.Lock()
	rounds := s.roundSeq
	ps.relMu.Unlock()
	s.pending = &pendingSnap{at: at, snap: ps.eng.Snapshot(), rounds: rounds, captured: now}
	ps.sealLocked()
}

// amendLocked records a retry copy counted in ps's windows whose original
// came before the pending snapshot's offset.
func (ps *partState) amendLocked(origin int64, ev *engine.Event, judge, seq int64) {
	p := ps.snaps.pending
	if p == nil || origin >= p.at {
		return
	}
	if p.sealed {
		// Only a copy the partition had stopped waiting for can come
		// now; the snapshot lacks it.
		ps.abandonLocked("a retried event below its offset was counted after it was sealed")
		return
	}
	p.snap.Amend(ev, judge, seq)
	ps.sealLocked()
}

// ladderFailedLocked: a failed event's route could not be written.
func (ps *partState) ladderFailedLocked(origin int64) {
	if p := ps.snaps.pending; p != nil && origin < p.at {
		ps.abandonLocked("the route of a failed event below its offset was not written")
	}
}

// sealLocked hands the pending snapshot to the writer once no event below
// its offset is on the retry ladder.
func (ps *partState) sealLocked() {
	p := ps.snaps.pending
	if p == nil || p.sealed {
		return
	}
	for off := range ps.ladder.entries {
		if off < p.at {
			return
		}
	}
	p.sealed = true
	store := ps.snaps.store
	go func() {
		data, err := p.snap.Encode()
		var ref partition.SnapshotRef
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			ref, err = store.Save(ctx, p.at, data)
			cancel()
		}
		b := ps.b
		b.mu.Lock()
		defer b.mu.Unlock()
		if err != nil {
			if b.log != nil {
				b.log.Warnf("window: %s/%d: snapshot of offsets below %d not written (the commit waits for open windows until the next one): %v", ps.part.Topic, ps.part.ID, p.at, err)
			}
			p.failed = true
		} else {
			p.saved = &ref
			if b.sm.written != nil {
				b.sm.written.Incr(1)
				b.sm.bytes.Set(int64(len(data)))
			}
		}
		p.snap = nil // the encoded bytes are in Kafka; free the copy
		if ps.snaps.pending != p || ps.dropped {
			if p.saved != nil {
				store.Forget(*p.saved)
			}
			return
		}
		if p.failed {
			ps.snaps.pending = nil
			return
		}
		ps.coverLocked()
	}()
}

// pendingLimit is how long a pending snapshot may wait for its conditions
// (a retry copy, an output that retries a write) before the next one is
// taken instead.
func (s *partSnaps) pendingLimit() time.Duration { return max(10*s.every, 5*time.Minute) }

// expireSnapLocked abandons a pending snapshot that waited pendingLimit.
func (ps *partState) expireSnapLocked(now int64) {
	if p := ps.snaps.pending; p != nil && now-p.captured > int64(ps.snaps.pendingLimit()) {
		ps.abandonLocked("its offsets were not settled within " + ps.snaps.pendingLimit().String())
	}
}

// abandonLocked drops the pending snapshot.
func (ps *partState) abandonLocked(why string) {
	p := ps.snaps.pending
	if p == nil {
		return
	}
	ps.snaps.pending = nil
	if p.saved != nil {
		ps.snaps.store.Forget(*p.saved)
	}
	b := ps.b
	if b.sm.abandoned != nil {
		b.sm.abandoned.Incr(1)
	}
	if b.log != nil {
		b.log.Warnf("window: %s/%d: snapshot of offsets below %d abandoned: %s", ps.part.Topic, ps.part.ID, p.at, why)
	}
}

// coverLocked makes the pending snapshot effective once its conditions
// hold (see partSnaps).
func (ps *partState) coverLocked() {
	p := ps.snaps.pending
	if p == nil || p.saved == nil {
		return
	}
	if ps.snaps.roundFailed.Load() {
		ps.abandonLocked("a window write failed")
		return
	}
	ps.relMu.Lock()
	written := ps.snaps.releasedRounds >= p.rounds
	ps.relMu.Unlock()
	if !written || ps.passedTo < p.at {
		return
	}
	for off := range ps.ladder.entries {
		if off < p.at {
			return // cannot happen once sealed, but never cover an unsettled event
		}
	}
	if old := ps.snaps.effective; old != nil {
		ps.snaps.superseded = append(ps.snaps.superseded, old)
	}
	ps.snaps.effective, ps.snaps.pending = p.saved, nil
}

// Covered implements partition.Sink.
func (ps *partState) Covered() int64 {
	b := ps.b
	b.mu.Lock()
	defer b.mu.Unlock()
	ps.coverLocked()
	if ps.snaps.effective == nil || ps.dropped {
		return -1
	}
	return ps.snaps.effective.At
}

// checkpointSnapLocked is the snapshot a commit of offset next names: the
// newest covering one at or below next.
func (ps *partState) checkpointSnapLocked(next int64) *partition.SnapshotRef {
	s := &ps.snaps
	e := s.effective
	for i := len(s.superseded) - 1; e != nil && e.At > next; i-- {
		if i < 0 {
			return nil
		}
		e = s.superseded[i]
	}
	if e == nil {
		return nil
	}
	s.checkpointed = e
	return e
}

// committedSnapLocked: the last checkpoint was committed; the snapshot the
// commit before named is no longer needed.
func (ps *partState) committedSnapLocked() {
	s := &ps.snaps
	old := s.committed
	s.committed = s.checkpointed
	if s.committed == nil || s.store == nil {
		return
	}
	// Commits only move forward: no later one names a snapshot older
	// than this one.
	kept := s.superseded[:0]
	for _, r := range s.superseded {
		switch {
		case r.At >= s.committed.At:
			kept = append(kept, r)
		case r != old:
			s.store.Forget(*r)
		}
	}
	s.superseded = kept
	if old != nil && old != s.committed && old != s.effective && old.At < s.committed.At {
		s.store.Forget(*old)
	}
}

// roundQueuedLocked and roundReleased count the partition's emission
// rounds (relMu held), so a capture knows which must be written first.
func (ps *partState) roundQueuedLocked() { ps.snaps.roundSeq++ }

func (ps *partState) roundReleased(err error) {
	ps.snaps.releasedRounds++
	if err != nil {
		ps.snaps.roundFailed.Store(true)
	}
}

// dropSnapsLocked forgets a revoked partition's pending snapshot; the
// effective one stays for its new owner.
func (ps *partState) dropSnapsLocked() {
	if p := ps.snaps.pending; p != nil {
		ps.snaps.pending = nil
		if p.saved != nil {
			ps.snaps.store.Forget(*p.saved)
		}
	}
}
