package window

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
	"github.com/streamkit/pipeline/plugins/window/wal"
)

// An event of a window_kafka partition that fails after validation (its
// enrichment call, say) leaves the buffer as an error; the retry_router
// sends it up the retry ladder, and it comes back later as a retry copy
// naming its partition and offset. For the partition's windows to be those
// of a run in which the call had not failed, three things hold here:
//
//   - the partition's windows stop closing at the watermark the event
//     arrived at (Engine.Hold) until it comes back, so it is never late
//     because it failed (a restart or a backlog can make the partition's
//     watermark run far ahead of the ladder's delays);
//   - the copy is judged against that watermark (Engine.AddJudged);
//   - the event's input batch stays unacknowledged until the event is
//     counted and its windows written, or dead-lettered: the source never
//     commits past an event whose fate is not written, so after a crash
//     its original is replayed, and a copy of an offset below the
//     committed one is a duplicate of an event already accounted for.
//
// Which of those events are on the ladder the buffer learns from the
// retry_router: each such event carries a ladderWatch in its metadata, and
// the router reports the route it chose before it acknowledges the write.

// ladderGrace is how long after its due time a partition still waits for a
// retried event: the retry input's own lag, and unownedWait when the copy
// reached another instance first.
const ladderGrace = unownedWait + 30*time.Second

// ladderEntry is one failed event of a partition whose fate is not written
// yet.
type ladderEntry struct {
	judge int64 // the partition's watermark right after the event arrived
	// bref is a hold on the event's input batch, released once its fate
	// is written.
	bref *engine.Ack
	// expires is the wall-clock time after which the partition stops
	// waiting for the event; 0 while the router has not reported a route.
	expires int64
}

// partLadder is a partition's bookkeeping of its failed events.
type partLadder struct {
	entries map[int64]*ladderEntry // by source offset
	// order holds the entries' offsets in arrival order (resolved ones
	// are skipped lazily): the partition's watermark never goes back, so
	// the first entry still present has the lowest judge, the hold.
	order []int64
	// floor is the committed offset: every event below it has its fate
	// written, so a retry copy of one is a duplicate.
	floor int64
	// expired are the offsets whose copies the partition stopped waiting
	// for (expireLadderLocked): one that still comes is judged like any
	// event.
	expired wal.OffsetSet
	// dead are the offsets at or above floor whose events were
	// dead-lettered at the end of the ladder (also in counted, so a replay
	// skips them), kept in the commit metadata for the next owner.
	dead []int64
	// deadEpoch counts additions to dead; checkpointEpoch is its value at
	// the last checkpoint, committedEpoch at the last commit of one.
	deadEpoch, checkpointEpoch, committedEpoch int64
	committedCh                                chan struct{} // closed at each commit
}

// Ladder routes a watch can report.
const (
	routeUnknown int32 = iota // not reported: the event did not meet a retry_router
	routeRetry
	routeDead
)

// ladderWatch rides to the retry_router in a failed event's metadata
// (meta.StashWindowLadder); the router calls LadderRetry or LadderDead,
// and LadderDurable before a dead-letter write.
type ladderWatch struct {
	ps     *partState
	origin int64
	route  atomic.Int32
	due    atomic.Int64 // unix ns
	epoch  atomic.Int64 // the partition's dead epoch that records the event
}

// LadderRetry reports that the event went to a retry stage, due at due.
func (w *ladderWatch) LadderRetry(due time.Time) {
	w.due.Store(due.UnixNano())
	w.route.Store(routeRetry)
}

// LadderDead reports that the event goes to the dead-letter route. From
// now on its partition skips the event's replayed original and drops its
// copies, and the next commit of the partition's offset names it.
func (w *ladderWatch) LadderDead() {
	w.route.Store(routeDead)
	if w.ps == nil {
		return
	}
	b := w.ps.b
	b.mu.Lock()
	w.epoch.Store(w.ps.markDeadLocked(w.origin))
	b.mu.Unlock()
}

// durableWait bounds how long a dead-letter write waits for the commit
// that records it (a commit normally follows within commit_period).
const durableWait = 15 * time.Second

// LadderDurable returns once the partition's offsets were committed with
// the event named dead: written to the dead-letter topic before that, a
// crash could replay the event's original, and it could then count in a
// window although it is in the dead-letter topic.
func (w *ladderWatch) LadderDurable(ctx context.Context) error {
	epoch := w.epoch.Load()
	if epoch == 0 || w.ps == nil {
		return nil
	}
	ps, b := w.ps, w.ps.b
	timeout := time.NewTimer(durableWait)
	defer timeout.Stop()
	for {
		b.mu.Lock()
		if ps.ladder.committedEpoch >= epoch {
			b.mu.Unlock()
			return nil
		}
		if ps.dropped {
			b.mu.Unlock()
			return errDeadUnrecorded
		}
		if ps.ladder.committedCh == nil {
			ps.ladder.committedCh = make(chan struct{})
		}
		ch := ps.ladder.committedCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout.C:
			if b.log != nil {
				b.log.Warnf("window: %s/%d: no commit recorded the dead letter of offset %d within %v; writing it anyway (a crash before the next commit could count the event too)", ps.part.Topic, ps.part.ID, w.origin, durableWait)
			}
			return nil
		}
	}
}

// errDeadUnrecorded fails a dead-letter write whose partition was handed
// back before a commit recorded it: the new owner replays the original from
// the committed offset and routes it again, so writing it here could leave
// the event both dead-lettered and counted.
var errDeadUnrecorded = errors.New("window: the partition was handed back before a commit recorded this dead letter; its new owner routes the event again")

// markDeadLocked records origin as dead-lettered and returns the dead epoch
// a commit must reach to include it.
func (ps *partState) markDeadLocked(origin int64) int64 {
	l := &ps.ladder
	if origin >= l.floor && !ps.counted.Has(origin) {
		ps.counted.Add(origin)
		i, _ := slices.BinarySearch(l.dead, origin)
		l.dead = slices.Insert(l.dead, i, origin)
		l.deadEpoch++
	}
	return l.deadEpoch
}

// isDead reports whether origin is among the dead offsets at or above the
// floor.
func (l *partLadder) isDead(origin int64) bool {
	_, ok := slices.BinarySearch(l.dead, origin)
	return ok
}

// committedLocked: the resume point of the last checkpoint was committed.
func (ps *partState) committedLocked() {
	l := &ps.ladder
	l.committedEpoch = max(l.committedEpoch, l.checkpointEpoch)
	if l.committedCh != nil {
		close(l.committedCh)
	}
	l.committedCh = make(chan struct{})
}

// errDeadAgain fails a retry copy of an event its partition recorded as
// dead-lettered, so the router sends it to the dead-letter route again
// (its attempts are spent) instead of counting it.
var errDeadAgain = errors.New("window: this event was dead-lettered before a restart; its copy is dead-lettered again rather than counted")

// ladderFailure is a failed event of a batch, waiting for its route.
type ladderFailure struct {
	origin int64
	watch  *ladderWatch
}

// retriable reports whether a failed message may be on its way to the retry
// ladder: it failed after validation (the router decides the rest).
func retriable(msg *service.Message) bool {
	class, _ := msg.MetaGet(meta.ErrorClass)
	return class == "" || class == meta.ClassProcessing
}

// failedLocked registers a failed event of ps: an original (fromSource)
// moves the partition's event time like any event and holds its windows and
// its batch; a failed retry copy keeps its original's entry. The returned
// failure is reported to routedLocked once the message is written.
func (ps *partState) failedLocked(msg *service.Message, ev *engine.Event, origin int64, fromSource bool, ref *engine.Ack, now int64) ladderFailure {
	l := &ps.ladder
	if fromSource {
		ps.eng.Observe(ev, now)
		if l.entries == nil {
			l.entries = map[int64]*ladderEntry{}
		}
		if old := l.entries[origin]; old == nil {
			ref.Hold()
			l.entries[origin] = &ladderEntry{judge: ps.eng.Watermark(), bref: ref}
			l.order = append(l.order, origin)
		}
		ps.applyHoldLocked()
	}
	w := &ladderWatch{ps: ps, origin: origin}
	msg.MetaSetMut(meta.StashWindowLadder, w)
	return ladderFailure{origin: origin, watch: w}
}

// countedBeforeLocked reports whether a replayed original that failed again
// was counted by an earlier owner of the partition. It was if the resume's
// released watermark is above the watermark the event arrives at: while an
// event is on the ladder its partition's windows close no further than
// that watermark, so the earlier owner had settled it, and not as a dead
// letter (the resume would name it). Some of its windows were written
// with it; the rest must have it too, so it counts as it is, without the
// ladder: an enrichment that fails on the replay must not change what the
// first run wrote (fields the enrichment adds are missing from it then).
func (ps *partState) countedBeforeLocked(ev *engine.Event) bool {
	rel := ps.resume.Released
	return rel != engine.NoWatermark && rel > max(ps.eng.Watermark(), ev.Time)
}

// routedLocked applies the routes the router reported for failed events of
// ps once they were written (err: they were not, and their batches are
// consumed again).
func (ps *partState) routedLocked(fs []ladderFailure, err error) {
	l := &ps.ladder
	for _, f := range fs {
		e := l.entries[f.origin]
		switch route := f.watch.route.Load(); {
		case err != nil:
			ps.ladderFailedLocked(f.origin)
			ps.resolveLocked(f.origin, err)
		case route == routeRetry:
			if e != nil {
				e.expires = f.watch.due.Load() + int64(ladderGrace)
			}
		case route == routeDead:
			ps.markDeadLocked(f.origin) // done by LadderDead already
			ps.resolveLocked(f.origin, nil)
		default:
			// Not through the ladder: nothing comes back.
			ps.resolveLocked(f.origin, nil)
		}
	}
	ps.applyHoldLocked()
}

// What happens to a retry copy (copyFateLocked).
const (
	copyDrop  = iota // a duplicate, or its original is ahead in the replay
	copyCount        // its partition waits for it: counted at its first watermark
	copyLate         // its partition stopped waiting: judged like any event
	// copyDeadAgain: its event was dead-lettered (recorded in the commit
	// metadata) but the copy was not acknowledged: the dead-letter write
	// may not have happened before a crash, so the copy goes there again.
	copyDeadAgain
)

// copyFateLocked decides about a retry copy of the event at origin. A copy
// of an event counted or dead-lettered, or below the committed offset, is
// a duplicate. One the partition waits for counts. One the partition has
// no entry for belongs to an event at or above the offset this instance
// resumed from, which its replay here reads again and decides afresh
// (enriched, or sent up the ladder anew): counting the copy as well would
// count the event twice, and counting it first would move the watermark
// ahead of the replay.
func (ps *partState) copyFateLocked(origin int64) int {
	l := &ps.ladder
	switch {
	case l.isDead(origin):
		return copyDeadAgain
	case ps.counted.Has(origin) || origin < l.floor:
		return copyDrop
	case l.entries[origin] != nil:
		return copyCount
	case l.expired.Has(origin):
		return copyLate
	}
	return copyDrop
}

// takeEntryLocked removes the entry of a retry copy about to be counted and
// returns it (nil if none): the copy's windows now hold its batch.
func (ps *partState) takeEntryLocked(origin int64) *ladderEntry {
	e := ps.ladder.entries[origin]
	if e != nil {
		delete(ps.ladder.entries, origin)
	}
	return e
}

// resolveLocked forgets origin's entry, releasing its batch.
func (ps *partState) resolveLocked(origin int64, err error) {
	e := ps.ladder.entries[origin]
	if e == nil {
		return
	}
	delete(ps.ladder.entries, origin)
	if e.bref != nil {
		e.bref.Release(err)
	}
}

// applyHoldLocked holds the partition's windows at the lowest watermark a
// failed event arrived at.
func (ps *partState) applyHoldLocked() {
	l := &ps.ladder
	n := 0
	for n < len(l.order) && l.entries[l.order[n]] == nil {
		n++
	}
	l.order = l.order[n:]
	h := int64(1<<63 - 1)
	if len(l.order) > 0 {
		h = l.entries[l.order[0]].judge
	}
	ps.eng.Hold(h)
}

// expireLadderLocked stops waiting for retried events whose copies did not
// come back in time (they reached another instance, or the retry topics
// lag): their windows close without them, and a copy that comes later is
// judged like any event (late, most likely, and routed as such).
func (ps *partState) expireLadderLocked(now int64) int {
	n := 0
	for off, e := range ps.ladder.entries {
		if e.expires > 0 && now >= e.expires {
			ps.resolveLocked(off, nil)
			ps.ladder.expired.Add(off)
			n++
		}
	}
	if n > 0 {
		ps.applyHoldLocked()
	}
	return n
}

// checkpointLadderLocked moves the floor to the committed offset next and
// returns the dead offsets at or above it for the commit metadata.
func (ps *partState) checkpointLadderLocked(next int64) []int64 {
	l := &ps.ladder
	l.floor = max(l.floor, next)
	l.expired.DropBelow(next)
	l.checkpointEpoch = l.deadEpoch
	i := 0
	for i < len(l.dead) && l.dead[i] < next {
		i++
	}
	l.dead = l.dead[i:]
	if len(l.dead) == 0 {
		l.dead = nil
		return nil
	}
	return slices.Clone(l.dead[max(0, len(l.dead)-partition.MaxDead):])
}

// abortLadderLocked releases every batch the partition's failed events
// hold, with err.
func (ps *partState) abortLadderLocked(err error) {
	for off := range ps.ladder.entries {
		ps.resolveLocked(off, err)
	}
}
