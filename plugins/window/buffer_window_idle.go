package window

import (
	"context"
	"time"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// Idleness is a wall-clock decision: a replay of the same records, at full
// speed, sees no idle gap. So each time a window_kafka partition goes idle
// (its watermark moved without a record), the move is recorded with the
// offset it came before (partition.IdleMark) and carried by every commit
// until a commit's offset passes it, when the committed watermark holds it.
// A replay applies it at the same record. And a batch that comes after a
// move waits until a commit carries it: until then a crash would lose the
// decision, and the batch's events, judged against the moved watermark (late,
// or closing windows), would be judged differently by the replay.

// idleCommitWait bounds that wait: when commits fail for this long, the
// batch goes on (and the decision is at risk again until one succeeds).
const idleCommitWait = 15 * time.Second

// partIdle is a partition's record of its idleness decisions (guarded by
// b.mu).
type partIdle struct {
	ingestedTo int64                // offset after the last source record windowed
	marks      []partition.IdleMark // decisions no checkpoint's watermark holds yet, oldest first
	replay     []partition.IdleMark // decisions of a previous owner still to apply, oldest first
	seq        int64                // decisions that moved the watermark
	carried    int64                // seq when the last checkpoint was taken
	committed  int64                // carried, as of the last commit
	changed    chan struct{}        // closed (and replaced) by a commit
	overflow   bool                 // MaxIdle was reached (logged once)
}

func newPartIdle(r partition.Resume, start int64) partIdle {
	pi := partIdle{ingestedTo: start, changed: make(chan struct{})}
	for _, m := range r.Idle {
		if m.At > start {
			pi.replay = append(pi.replay, m)
		}
	}
	// Until the replay passes them, every commit must carry them again.
	pi.marks = append([]partition.IdleMark(nil), pi.replay...)
	return pi
}

// idleMovedLocked records that idleness moved ps's watermark to wm.
func (ps *partState) idleMovedLocked(wm int64) {
	pi := &ps.idle
	pi.seq++
	if n := len(pi.marks); n > 0 && pi.marks[n-1].At == pi.ingestedTo {
		pi.marks[n-1].WM = wm
		return
	}
	if len(pi.marks) >= partition.MaxIdle {
		// The commit is held back by a window open across many idle
		// periods: the oldest decision is dropped (a replay from this
		// commit may then judge the records after it differently).
		if !pi.overflow && ps.b.log != nil {
			ps.b.log.Warnf("window: %s/%d: more than %d idle periods since its committed offset; the oldest is no longer recorded for a replay", ps.part.Topic, ps.part.ID, partition.MaxIdle)
		}
		pi.overflow = true
		pi.marks = pi.marks[1:]
	}
	pi.marks = append(pi.marks, partition.IdleMark{At: pi.ingestedTo, WM: wm})
}

// checkpointIdleLocked returns the decisions a commit of offset next must
// carry: those after it. The watermark at next holds the others.
func (ps *partState) checkpointIdleLocked(next int64) []partition.IdleMark {
	pi := &ps.idle
	k := 0
	for k < len(pi.marks) && pi.marks[k].At <= next {
		k++
	}
	pi.marks = pi.marks[k:]
	pi.carried = pi.seq
	if len(pi.marks) == 0 {
		return nil
	}
	return append([]partition.IdleMark(nil), pi.marks...)
}

// committedIdleLocked: the last checkpoint was committed.
func (ps *partState) committedIdleLocked() {
	pi := &ps.idle
	if pi.committed != pi.carried {
		pi.committed = pi.carried
		close(pi.changed)
		pi.changed = make(chan struct{})
	}
}

// replayIdleLocked applies the previous owner's decisions that came before
// source offset off, as it did.
func (ps *partState) replayIdleLocked(off int64) {
	pi := &ps.idle
	for len(pi.replay) > 0 && pi.replay[0].At <= off {
		ps.eng.AdvanceTo(pi.replay[0].WM)
		pi.replay = pi.replay[1:]
	}
}

// awaitIdleCommitted holds a batch of ps until a commit carries every
// idleness decision taken before it (see above). Callers hold writeMu.
func (b *windowBuffer) awaitIdleCommitted(ctx context.Context, ps *partState) {
	b.mu.Lock()
	settled := ps.idle.committed == ps.idle.seq
	b.mu.Unlock()
	if settled {
		return // nearly always: no timers on the path of every batch
	}
	deadline := time.NewTimer(idleCommitWait)
	defer deadline.Stop()
	// A hand-over waits for this batch and commits no more periodically:
	// look for it now and then.
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for {
		b.mu.Lock()
		pi := &ps.idle
		if pi.committed == pi.seq || ps.dropped || b.closed || b.ended {
			b.mu.Unlock()
			return
		}
		ch := pi.changed
		b.mu.Unlock()
		if ps.part.Revoked() {
			return // the batch is dropped with the partition
		}
		select {
		case <-ch:
		case <-poll.C:
		case <-ctx.Done():
			return
		case <-deadline.C:
			if b.log != nil {
				b.log.Warnf("window: %s/%d: no commit within %v carried the watermark its idleness set; windowing its next records anyway (a crash before the next commit may judge them differently)", ps.part.Topic, ps.part.ID, idleCommitWait)
			}
			return
		}
	}
}
