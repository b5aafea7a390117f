package window

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
	"github.com/streamkit/pipeline/plugins/window/partition"
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
	// bref is a hold on the event's input batch (nil for an entry made by a
	// retry copy whose original is not replayed yet).
	bref *Ack
	// expires is the wall-clock time after which the partition stops
	// waiting for the event; 0 while the router has not reported a route.
	expires int64
}

// partLadder is a partition's bookkeeping of its failed events.
type partLadder struct {
	entries map[int64]*ladderEntry // by source offset
	// floor is the committed offset: every event below it has its fate
	// written, so a retry copy of one is a duplicate.
	floor int64
	// expired are the offsets whose copies the partition stopped waiting
	// for (expireLadderLocked): one that still comes is judged like any
	// event.
	expired offsetSet
	// dead are the offsets at or above floor whose events were
	// dead-lettered at the end of the ladder (also in counted, so a replay
	// skips them), kept in the commit metadata for the next owner.
	dead []int64
}

// Ladder routes a watch can report.
const (
	routeUnknown int32 = iota // not reported: the event did not meet a retry_router
	routeRetry
	routeDead
)

// ladderWatch rides to the retry_router in a failed event's metadata
// (meta.StashWindowLadder); the router calls LadderRetry or LadderDead.
type ladderWatch struct {
	route atomic.Int32
	due   atomic.Int64 // unix ns
}

// LadderRetry reports that the event went to a retry stage, due at due.
func (w *ladderWatch) LadderRetry(due time.Time) {
	w.due.Store(due.UnixNano())
	w.route.Store(routeRetry)
}

// LadderDead reports that the event went to the dead-letter route.
func (w *ladderWatch) LadderDead() { w.route.Store(routeDead) }

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
func (ps *partState) failedLocked(msg *service.Message, ev *Event, origin int64, fromSource bool, ref *Ack, now int64) ladderFailure {
	l := &ps.ladder
	if fromSource {
		ps.eng.Observe(ev, now)
		if l.entries == nil {
			l.entries = map[int64]*ladderEntry{}
		}
		if old := l.entries[origin]; old == nil {
			ref.Hold()
			l.entries[origin] = &ladderEntry{judge: ps.eng.Watermark(), bref: ref}
		}
		ps.applyHoldLocked()
	}
	w := &ladderWatch{}
	msg.MetaSetMut(meta.StashWindowLadder, w)
	return ladderFailure{origin: origin, watch: w}
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
			ps.resolveLocked(f.origin, err)
		case route == routeRetry:
			if e != nil {
				e.expires = f.watch.due.Load() + int64(ladderGrace)
			}
		case route == routeDead:
			if f.origin >= l.floor && !ps.counted.has(f.origin) {
				ps.counted.add(f.origin)
				l.dead = append(l.dead, f.origin)
				slices.Sort(l.dead)
			}
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
	case ps.counted.has(origin) || origin < l.floor:
		return copyDrop
	case l.entries[origin] != nil:
		return copyCount
	case l.expired.has(origin):
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
	h := int64(1<<63 - 1)
	for _, e := range ps.ladder.entries {
		h = min(h, e.judge)
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
			ps.ladder.expired.add(off)
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
	l.expired.dropBelow(next)
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
