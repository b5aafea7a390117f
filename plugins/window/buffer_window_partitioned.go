package window

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
	"github.com/streamkit/pipeline/plugins/window/wal"
)

// errRevoked nacks what a revoked partition had in flight: its new owner
// consumes it again from the committed offset.
var errRevoked = errors.New("window buffer: partition revoked before its windows closed")

// partState is the window state of one source partition delivered by the
// window_kafka input: its own engine (so its windows close by its own event
// time, and revoking it drops exactly its state), the watermarks a commit of
// its offsets needs, and the emission rounds not yet written.
//
// Exactness rests on one rule: an input batch is acknowledged only when
// every window it fed is written AND every window that closed before those
// is written too (rounds are released oldest first). So when the source
// commits offset O with Resume{Watermark: wm(O), Released: R}, every window
// with end + lateness <= R is in the results topic, and every other window
// has all its events at or after O. Replaying from O with wm(O) recomputes
// the same windows; those at or below R are suppressed, the rest emitted.
type partState struct {
	b      *windowBuffer
	part   *partition.Partition
	eng    *engine.Engine
	resume partition.Resume

	// Guarded by b.mu.
	marks     []wmMark // ingested batches above the last checkpoint
	baseWM    int64    // watermark after the records before marks[0]
	drainedWM int64    // the engine's watermark at the last drain
	// counted holds the source offsets of the partition's events that are
	// in its windows, from the last checkpoint on: an event that fails
	// enrichment goes to the retry ladder, and after a restart both its
	// replayed original and its retry copy may arrive; the second is
	// skipped (retried events name their original's offset).
	counted wal.OffsetSet
	ladder  partLadder // its events that failed after validation (buffer_window_ladder.go)
	// passedTo: the pass-through of every offset below is written
	// (buffer_window_passed.go); passFIFO the batches after it, in order.
	passedTo    int64
	passFIFO    []*passBatch
	lastArrival int64 // wall clock of the last batch, for idleness
	arrivalWM   int64 // watermark after the last batch, before idleness moved it
	dropped     bool
	snaps       partSnaps // snapshots of its state (buffer_window_snapshots.go)
	idle        partIdle  // its idleness decisions (buffer_window_idle.go)

	relMu  sync.Mutex
	rounds []*round // emission rounds not yet released, oldest first
	// A round's write failed (an output error, a stop): no commit of
	// this owner may say that windows above the first such round's prevWM
	// were written.
	roundsFailed bool
	failedWM     int64
}

// wmMark is the watermark after an ingested batch's last record.
type wmMark struct {
	last, wm int64
}

// round is the groups one drain produced: every window that closed while the
// watermark moved from prevWM to the drain's watermark.
type round struct {
	prevWM  int64
	pending int
	groups  []roundGroup
}

type roundGroup struct {
	g   *engine.Group
	err error
}

func (b *windowBuffer) newPartState(p *partition.Partition, snap []byte) (*partState, error) {
	cfg := b.opts.engine
	// Idleness is decided here from the source's lag (a partition that is
	// behind is never idle), and there is no startup grace: each partition
	// has its own watermark, so none waits for another.
	cfg.IdleTimeout, cfg.StartupGrace = 0, 0
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	ps := &partState{b: b, part: p, eng: eng, resume: p.Resume, baseWM: p.Resume.Watermark,
		// Idleness counts from the assignment for a partition that
		// delivers nothing: the open windows of its snapshot close
		// idle_timeout later, as they would have without the hand-over.
		lastArrival: b.clock().UnixNano(), arrivalWM: p.Resume.Watermark}
	if err := ps.restoreSnapshot(snap); err != nil {
		return nil, err
	}
	// What the resume watermark closes (windows of a restored snapshot;
	// nothing in an empty engine) is drained by partFor as the partition's
	// first round: emitted, unless the previous owner wrote it.
	ps.drainedWM = eng.ClosedTo()
	eng.Resume(p.Resume.Watermark)
	ps.ladder.floor = p.Start
	ps.passedTo = p.Resume.Passed
	ps.idle = newPartIdle(p.Resume, p.Start)
	for _, off := range p.Resume.Dead {
		if off >= p.Start {
			// Dead-lettered by the previous owner: its replay is skipped.
			ps.counted.Add(off)
			ps.ladder.dead = append(ps.ladder.dead, off)
		}
	}
	slices.Sort(ps.ladder.dead)
	return ps, nil
}

// partFor returns the state of p, creating and attaching it (fresh) when
// the source announces p (buffer_window_assigned.go) or on p's first batch,
// whichever comes first. A partition whose state cannot be set up (its
// snapshot does not restore) gets a failedSink instead: every batch of it
// fails from then on, so none is windowed without the ones before it, and
// its commit stays where it was until a new owner (or this one after a
// restart) tries again. A partition handed back gets neither (errRevoked).
// Callers hold writeMu (not b.mu).
func (b *windowBuffer) partFor(p *partition.Partition) (ps *partState, fresh bool, err error) {
	if s := p.Sink(); s != nil {
		if f, ok := s.(*failedSink); ok {
			return nil, false, f.err
		}
		return s.(*partState), false, nil
	}
	// Taken before Attach, which holds the partition's lock. (Only partFor
	// attaches, under writeMu.) The source loaded it before the first batch.
	snap, snapErr := p.TakeSnapshot()
	sink := p.Attach(func() partition.Sink {
		if snapErr == nil {
			ps, snapErr = b.newPartState(p, snap)
		}
		if snapErr != nil {
			err = fmt.Errorf("window: %s/%d: cannot resume exactly, so none of its batches is windowed here: %w", p.Topic, p.ID, snapErr)
			if b.log != nil {
				b.log.Errorf("%v", err)
			}
			return &failedSink{resume: p.Resume, err: err}
		}
		fresh = true
		b.mu.Lock()
		b.parts[p] = ps
		b.drainPartLocked(ps)
		b.mu.Unlock()
		return ps
	})
	if sink == nil {
		return nil, false, errRevoked
	}
	if f, ok := sink.(*failedSink); ok {
		p.Fail(f.err)
		return nil, false, f.err
	}
	return sink.(*partState), fresh, nil
}

// failedSink stands for a partition whose state could not be set up: its
// commit keeps the resume point it was assigned with, and nothing of it is
// covered or dropped.
type failedSink struct {
	resume partition.Resume
	err    error
}

func (f *failedSink) Checkpoint(int64) partition.Resume { return f.resume }
func (f *failedSink) Committed()                        {}
func (f *failedSink) Covered() int64                    { return -1 }
func (f *failedSink) Drop()                             {}

// Checkpoint implements partition.Sink.
func (ps *partState) Checkpoint(next int64) partition.Resume {
	ps.b.mu.Lock()
	wm := ps.baseWM
	i := 0
	for i < len(ps.marks) && ps.marks[i].last < next {
		wm = ps.marks[i].wm
		i++
	}
	ps.marks = append(ps.marks[:0], ps.marks[i:]...)
	ps.baseWM = wm
	// Nothing before next is replayed any more.
	ps.counted.DropBelow(next)
	dead := ps.checkpointLadderLocked(next)
	passed := max(ps.passedTo, next)
	released := ps.drainedWM
	snap := ps.checkpointSnapLocked(next)
	idle := ps.checkpointIdleLocked(next)
	ps.b.mu.Unlock()

	ps.relMu.Lock()
	if len(ps.rounds) > 0 {
		released = ps.rounds[0].prevWM
	}
	if ps.roundsFailed {
		released = min(released, ps.failedWM)
	}
	ps.relMu.Unlock()
	return partition.Resume{Watermark: wm, Released: max(released, ps.resume.Released), Dead: dead, Passed: passed, Snap: snap, Idle: idle}
}

// Committed implements partition.Sink.
func (ps *partState) Committed() {
	ps.b.mu.Lock()
	ps.committedLocked()
	ps.committedSnapLocked()
	ps.committedIdleLocked()
	ps.b.mu.Unlock()
}

// Drop implements partition.Sink: the partition's windows are forgotten
// without being emitted, unread results of it are taken off the queue, and
// the inputs they held are nacked (the new owner replays them).
func (ps *partState) Drop() {
	b := ps.b
	b.mu.Lock()
	if ps.dropped {
		b.mu.Unlock()
		return
	}
	ps.dropped = true
	delete(b.parts, ps.part)
	ps.dropSnapsLocked()
	ps.abortLadderLocked(errRevoked)
	ps.committedLocked() // wakes dead-letter writes waiting for a commit
	ps.eng.Abort(errRevoked)
	for _, g := range ps.eng.Drain() {
		g.Release(errRevoked)
	}
	var mine []outItem
	kept := b.queue[:0]
	for _, it := range b.queue {
		if it.ps == ps {
			mine = append(mine, it)
			b.queued -= it.n
			continue
		}
		kept = append(kept, it)
	}
	clear(b.queue[len(kept):])
	b.queue = kept
	b.broadcastLocked(&b.spaceCh)
	b.mu.Unlock()
	for _, it := range mine {
		it.release(errRevoked)
	}
}

// drainPartLocked moves the partition engine's emissions to the read queue
// as one round. Windows the previous owner already wrote are suppressed,
// their final results and updates alike.
func (b *windowBuffer) drainPartLocked(ps *partState) {
	groups := ps.eng.Drain()
	wm := ps.eng.ClosedTo()
	prev := ps.drainedWM
	ps.drainedWM = wm
	if len(groups) == 0 {
		return
	}
	lateness := int64(b.opts.engine.AllowedLateness)
	var kept []*engine.Group
	for _, g := range groups {
		// Updates too: a running aggregate after the previous owner's final
		// result would be the last word for a compacted reader.
		if ps.resume.Released != engine.NoWatermark {
			g.Emissions = suppressWritten(g.Emissions, ps.resume.Released, lateness)
		}
		if len(g.Emissions) == 0 {
			g.Release(nil)
			continue
		}
		kept = append(kept, g)
	}
	if len(kept) == 0 {
		return
	}
	r := &round{prevWM: prev, pending: len(kept), groups: make([]roundGroup, len(kept))}
	for i, g := range kept {
		r.groups[i].g = g
	}
	ps.relMu.Lock()
	ps.rounds = append(ps.rounds, r)
	ps.roundQueuedLocked()
	ps.relMu.Unlock()
	for i, g := range kept {
		b.enqueueGroupLocked(g, ps, func(err error) { ps.groupWritten(r, i, err) })
	}
}

// suppressWritten drops the emissions of windows that closed at or below
// released (end + lateness <= released): the partition's previous owner
// wrote them, and this replay lacks the events before the committed offset.
func suppressWritten(es []engine.Emission, released, lateness int64) []engine.Emission {
	kept := es[:0]
	for _, e := range es {
		if e.End+lateness > released {
			kept = append(kept, e)
		}
	}
	clear(es[len(kept):])
	return kept
}

// groupWritten records that group i of round r was written (or failed with
// err); rounds are released oldest first, so an input is acknowledged only
// when every window closed before its own is written too.
func (ps *partState) groupWritten(r *round, i int, err error) {
	ps.relMu.Lock()
	r.groups[i].err = err
	r.pending--
	var ready []*round
	for len(ps.rounds) > 0 && ps.rounds[0].pending == 0 {
		var rerr error
		for _, rg := range ps.rounds[0].groups {
			rerr = cmp.Or(rerr, rg.err)
		}
		if rerr != nil && !ps.roundsFailed {
			ps.roundsFailed, ps.failedWM = true, ps.rounds[0].prevWM
		}
		ps.roundReleased(rerr)
		ready = append(ready, ps.rounds[0])
		ps.rounds[0] = nil
		ps.rounds = ps.rounds[1:]
	}
	ps.relMu.Unlock()
	for _, rr := range ready {
		for _, rg := range rr.groups {
			rg.g.Release(rg.err)
		}
	}
}

// writePartitioned windows a batch of the window_kafka input in its
// partition's own engine. The pipeline's transaction ends here: the batch's
// outcome goes to the source through sb once its windows are written, so
// neither Benthos nor the input hold the messages of open windows, and a
// stop does not wait for windows to close. Callers hold writeMu.
func (b *windowBuffer) writePartitioned(ctx context.Context, batch service.MessageBatch, ackFn service.AckFunc, sb *partition.Batch) {
	sb.Take()
	defer func() {
		sb.Received()
		_ = ackFn(ctx, nil)
	}()
	ref := engine.NewAck(sb.Done)
	if sb.Part.Revoked() {
		ref.Release(errRevoked)
		return
	}
	ps, fresh, err := b.partFor(sb.Part)
	if err != nil {
		ref.Release(err)
		return
	}
	if fresh {
		// Retried events waiting for this partition go first: they are
		// older than what it delivers now.
		b.unpark(ctx, ps)
	}
	b.awaitIdleCommitted(ctx, ps)
	b.ingestInto(ctx, batch, ref, ps, sb.Last)
}

// writeUnsourced windows events that did not come from window_kafka while
// one feeds the buffer: retried events, whose kafka_topic/kafka_partition
// name the partition they first came from. Each joins that partition's
// state if this instance owns it. One whose partition has not delivered
// here yet (right after a start or a rebalance the retry input is often
// first) waits for it, up to unownedWait; then it cannot be counted here
// without splitting its windows between instances, and is passed on as an
// error of class `unowned` (to the dead-letter route, for replay). Errored
// events that are not retry copies pass on at once. Callers hold writeMu.
func (b *windowBuffer) writeUnsourced(ctx context.Context, batch service.MessageBatch, ackFn service.AckFunc) {
	ref := engine.NewAck(func(err error) { _ = ackFn(context.Background(), err) })
	defer ref.Release(nil)
	byPart := map[*partState]service.MessageBatch{}
	var order []*partState
	var pass service.MessageBatch
	b.mu.Lock()
	now := b.clock().UnixNano()
	for _, msg := range batch {
		ps := b.ownerLocked(msg)
		if ps == nil {
			if msg.GetError() != nil && originOffset(msg, false) < 0 {
				pass = append(pass, msg)
				continue
			}
			// A retry copy waits for its partition even when it failed
			// again: its route (next stage, or dead letter) depends on
			// what the partition knows of the event (buffer_window_ladder.go).
			ref.Hold()
			b.parked = append(b.parked, parkedEvent{msg: msg, ref: ref, since: now})
			continue
		}
		if _, ok := byPart[ps]; !ok {
			order = append(order, ps)
		}
		byPart[ps] = append(byPart[ps], msg)
	}
	b.enqueuePassLocked(ref, pass, nil)
	b.mu.Unlock()
	for _, ps := range order {
		ref.Hold()
		b.ingestInto(ctx, byPart[ps], ref, ps, -1)
	}
}

// writeRetried windows a batch of retry copies that window_kafka consumed
// from a retry topic co-partitioned with its source: like other retried
// events (writeUnsourced), but the batch's outcome goes to the source, which
// commits the retry partition's offsets only once the copies' fate is
// written. Callers hold writeMu.
func (b *windowBuffer) writeRetried(ctx context.Context, batch service.MessageBatch, ackFn service.AckFunc, sb *partition.Batch) {
	sb.Take()
	defer func() {
		sb.Received()
		_ = ackFn(ctx, nil)
	}()
	if sb.Part.Revoked() {
		sb.Done(errRevoked)
		return
	}
	b.writeUnsourced(ctx, batch, func(_ context.Context, err error) error {
		sb.Done(err)
		return nil
	})
}

// unownedWait is how long a retried event waits for its partition to
// deliver to this instance before it is passed on as `unowned`.
const unownedWait = 30 * time.Second

// parkedEvent is a retried event waiting for its partition (see
// writeUnsourced); it holds ref until it is windowed or passed on.
type parkedEvent struct {
	msg   *service.Message
	ref   *engine.Ack
	since int64
}

// unpark windows the parked events that ps owns. Callers hold writeMu.
func (b *windowBuffer) unpark(ctx context.Context, ps *partState) {
	b.mu.Lock()
	var mine []parkedEvent
	kept := b.parked[:0]
	for _, pe := range b.parked {
		if b.ownerLocked(pe.msg) == ps {
			mine = append(mine, pe)
			continue
		}
		kept = append(kept, pe)
	}
	clear(b.parked[len(kept):])
	b.parked = kept
	b.mu.Unlock()
	for _, pe := range mine {
		b.ingestInto(ctx, service.MessageBatch{pe.msg}, pe.ref, ps, -1)
	}
}

// expireParkedLocked passes on, as `unowned`, the parked events that waited
// unownedWait for a partition this instance does not get.
func (b *windowBuffer) expireParkedLocked(now int64) {
	kept := b.parked[:0]
	for _, pe := range b.parked {
		if now-pe.since < int64(unownedWait) {
			kept = append(kept, pe)
			continue
		}
		topic, _ := pe.msg.MetaGet(meta.KafkaTopic)
		part, _ := pe.msg.MetaGet(meta.KafkaPartition)
		pe.msg.SetError(fmt.Errorf("window: this instance does not own %s/%s, the partition the event belongs to (waited %v): counting it here would split its windows between instances", topic, part, unownedWait))
		pe.msg.MetaSetMut(meta.ErrorClass, meta.ClassUnowned)
		b.enqueuePassLocked(pe.ref, service.MessageBatch{pe.msg}, nil)
		pe.ref.Release(nil)
	}
	clear(b.parked[len(kept):])
	b.parked = kept
}

// ownerLocked finds the partition state a message's kafka_topic and
// kafka_partition metadata name.
func (b *windowBuffer) ownerLocked(msg *service.Message) *partState {
	topic, ok := msg.MetaGetMut(meta.KafkaTopic)
	if !ok {
		return nil
	}
	pv, ok := msg.MetaGetMut(meta.KafkaPartition)
	if !ok {
		return nil
	}
	var p int64
	switch v := pv.(type) {
	case int:
		p = int64(v)
	case int64:
		p = v
	case int32:
		p = int64(v)
	case string:
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil
		}
		p = n
	default:
		return nil
	}
	for part, ps := range b.parts {
		if part.Topic == topic && int64(part.ID) == p && !ps.dropped {
			return ps
		}
	}
	return nil
}

// originOffset is the offset in its source partition of an event from the
// source (kafka_offset) or of a retried one (retry_original_offset: its
// own kafka_offset is the retry topic's); -1 when the metadata has none.
// A source event's retry_* metadata is ignored: an event replayed from the
// dead-letter topic carries that of its earlier life.
func originOffset(msg *service.Message, fromSource bool) int64 {
	key := meta.RetryOriginalOffset
	if fromSource {
		key = meta.KafkaOffset
	}
	v, ok := msg.MetaGetMut(key)
	if !ok {
		return -1
	}
	switch x := v.(type) {
	case int:
		return int64(x)
	case int64:
		return x
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return -1
		}
		return n
	}
	return -1
}

// sourceBatch returns the window_kafka batch a message came from, if any.
func sourceBatch(msg *service.Message) *partition.Batch {
	v, ok := msg.MetaGetMut(partition.MetaKey)
	if !ok {
		return nil
	}
	sb, _ := v.(*partition.Batch)
	return sb
}

// tickPartsLocked lets wall-clock time pass for each partition: `updates`
// emissions, and idleness. A partition is idle when the source says it is
// caught up (and the cluster reachable) and nothing arrived for
// idle_timeout; its watermark then follows the wall clock, or, for event
// times ahead of it, moves on by the wall-clock time since its last batch,
// so its remaining windows close without newer events.
func (b *windowBuffer) tickPartsLocked(now int64) {
	b.expireParkedLocked(now)
	idle := b.opts.engine.IdleTimeout
	for _, ps := range b.parts {
		ps.expireSnapLocked(now)
		ps.sealLocked()
		ps.coverLocked()
		if n := ps.expireLadderLocked(now); n > 0 && b.log != nil {
			b.log.Warnf("window: %s/%d: %d retried events did not come back within %v of their due time; their windows close without them (a copy that comes later is judged like any event)", ps.part.Topic, ps.part.ID, n, ladderGrace)
		}
		ps.eng.Tick(now)
		if idle > 0 && ps.lastArrival > 0 && now-ps.lastArrival >= int64(idle) &&
			ps.arrivalWM != engine.NoWatermark && ps.part.CaughtUp() {
			before := ps.eng.Watermark()
			ps.eng.AdvanceTo(max(now, ps.arrivalWM+(now-ps.lastArrival)))
			if wm := ps.eng.Watermark(); wm != before {
				ps.idleMovedLocked(wm)
			}
			// The move happened after the last ingested record: it is part
			// of the watermark a commit after that record resumes with.
			if len(ps.marks) > 0 {
				ps.marks[len(ps.marks)-1].wm = ps.eng.Watermark()
			} else {
				ps.baseWM = ps.eng.Watermark()
			}
		}
		b.drainPartLocked(ps)
	}
}

// abortPartsLocked drops every partition's open windows without emitting
// them, nacking the inputs they hold.
func (b *windowBuffer) abortPartsLocked(err error) {
	for _, pe := range b.parked {
		pe.ref.Release(err)
	}
	b.parked = nil
	for _, ps := range b.parts {
		ps.abortLadderLocked(err)
		ps.eng.Abort(err)
		for _, g := range ps.eng.Drain() {
			g.Release(err)
		}
	}
}

// openLocked counts open (window, key) states over every engine.
func (b *windowBuffer) openLocked() int {
	n := b.eng.Open()
	for _, ps := range b.parts {
		n += ps.eng.Open()
	}
	return n
}
