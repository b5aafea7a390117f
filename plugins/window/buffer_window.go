package window

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
	"github.com/streamkit/pipeline/plugins/window/wal"
)

func init() {
	service.MustRegisterBatchBuffer("window", bufferSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchBuffer, error) {
			o, err := parseOptions(conf)
			if err != nil {
				return nil, err
			}
			return newBuffer(o, mgr, time.Now, true)
		})
}

// errShutdown nacks inputs of windows that never closed, so they are
// redelivered after a restart.
var errShutdown = errors.New("window buffer shut down before the window closed")

// outItem is one queued read. Window results are queued as their Group and
// turned into messages by ReadBatch, outside b.mu, so building them (metadata,
// formatted bounds) runs alongside ingestion instead of inside WriteBatch's
// critical section. The group is owned by the item once drained.
type outItem struct {
	batch   service.MessageBatch // pass-through messages (group == nil)
	group   *engine.Group
	lo, hi  int // the group's emissions this item builds
	n       int // messages in the item, counted against max_open_windows
	release func(error)
	ps      *partState // the source partition the item belongs to, if any
}

// maxResultBatch bounds the results ReadBatch builds and hands on at once.
// A pane closing for every key is one group (50k results for 50k users): as
// one batch, all its messages would be built and held at once (tens of MB),
// and the output would get one oversized batch.
const maxResultBatch = 1024

// maxQueued is the most messages (results and pass-through) waiting to be
// read before WriteBatch waits for the output: enough batches to keep an
// output busy, few enough to stay a few MB.
const maxQueued = 16 * maxResultBatch

// maxUnacked is the most messages ReadBatch hands on that the output has
// not acknowledged yet. Benthos reads a buffer again as soon as a batch is
// handed on, so without a bound an output slower than the buffer made every
// result wait in memory as a message (bench D: 370 MB of live heap at the
// end of 600k events, two thirds of it results waiting for the output);
// with it, a slow output holds the queue, and the queue holds WriteBatch.
// Output batching policies without a period need a count below it.
const maxUnacked = maxQueued

type metrics struct {
	eventsIn, emitted, late, droppedLate *service.MetricCounter
	redelivered, replayed, duplicates    *service.MetricCounter
	open, lag, walSegments               *service.MetricGauge
}

// windowBuffer adapts the Engine to service.BatchBuffer. WriteBatch takes
// ownership of the input's ack func; ReadBatch hands out closed windows and
// pass-through messages in the order they were produced.
type windowBuffer struct {
	opts    *options
	eng     *engine.Engine
	x       *extractor
	wal     *wal.Log // nil: inputs are acknowledged when their windows are written
	log     *service.Logger
	lateLog *lateLog // nil without a logger
	m       metrics
	sm      snapMetrics
	clock   func() time.Time

	writeMu sync.Mutex // serialises WriteBatch: the scratch events are reused
	scratch []engine.Event

	mu      sync.Mutex
	queue   []outItem
	queued  int // messages in queue, counted against max_open_windows
	unacked int // messages ReadBatch handed on, not acknowledged yet
	// unackedLimit is maxUnacked (a field so tests can lower it).
	unackedLimit int
	dataCh       chan struct{} // closed (and replaced) when queue or end state changes
	spaceCh      chan struct{} // closed (and replaced) when capacity may have freed
	ended        bool
	closed       bool

	// Window state per window_kafka partition (see buffer_window_partitioned.go);
	// eng serves every other input. Guarded by mu.
	parts map[*partition.Partition]*partState
	// Retried events waiting for their partition to deliver here.
	parked []parkedEvent

	stop     chan struct{}
	stopOnce sync.Once
	tickDone chan struct{}
	// Partitions window_kafka announced (buffer_window_assigned.go); nil
	// without Benthos resources (tests).
	assigned   *assigned
	attachDone chan struct{}
}

func newBuffer(o *options, mgr *service.Resources, clock func() time.Time, ticker bool) (*windowBuffer, error) {
	eng, err := engine.New(o.engine)
	if err != nil {
		return nil, errors.New("field " + err.Error())
	}
	b := &windowBuffer{
		opts: o, eng: eng, x: newExtractor(o), clock: clock,
		dataCh: make(chan struct{}), spaceCh: make(chan struct{}),
		parts: map[*partition.Partition]*partState{}, unackedLimit: maxUnacked,
		stop: make(chan struct{}), tickDone: make(chan struct{}),
	}
	if mgr != nil {
		b.log = mgr.Logger()
		b.lateLog = newLateLog(clock, b.log.Info)
		mt := mgr.Metrics()
		b.m = metrics{
			eventsIn:    mt.NewCounter("window_events_in"),
			emitted:     mt.NewCounter("window_emitted", "window"),
			late:        mt.NewCounter("window_late_events", "window"),
			droppedLate: mt.NewCounter("window_dropped_late", "window"),
			open:        mt.NewGauge("window_open"),
			lag:         mt.NewGauge("window_watermark_lag_ms"),
			redelivered: mt.NewCounter("window_redelivered_skipped"),
			replayed:    mt.NewCounter("window_wal_replayed"),
			duplicates:  mt.NewCounter("window_duplicates_skipped"),
			walSegments: mt.NewGauge("window_wal_segments"),
		}
		b.sm = newSnapMetrics(mgr)
	}
	if o.walDir != "" {
		w, err := wal.Open(o.walDir, o.walSegmentBytes)
		if err != nil {
			return nil, err
		}
		b.wal = w
		if err := b.replayWAL(); err != nil {
			w.Close()
			return nil, err
		}
	}
	if mgr != nil {
		b.watchAssignments(partition.Shared(mgr.StreamID(), mgr.GetOrSetGeneric))
	}
	if ticker {
		go b.tickLoop()
	} else {
		close(b.tickDone)
	}
	return b, nil
}

func (b *windowBuffer) tickLoop() {
	defer close(b.tickDone)
	t := time.NewTicker(b.opts.tickPeriod)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			b.tick()
		case <-b.stop:
			return
		}
	}
}

// tick lets wall-clock time pass (idle partitions, update emissions).
func (b *windowBuffer) tick() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.ended {
		return
	}
	now := b.clock().UnixNano()
	b.eng.Tick(now)
	b.drainLocked()
	b.tickPartsLocked(now)
	b.gaugesLocked(now)
}

func (b *windowBuffer) gaugesLocked(now int64) {
	if b.m.open == nil {
		return
	}
	b.m.open.Set(int64(b.openLocked()))
	if b.wal != nil {
		b.m.walSegments.Set(b.wal.Segments())
	}
	wm := b.eng.Watermark()
	for _, ps := range b.parts {
		// The partition furthest behind: the results most delayed.
		if pw := ps.eng.Watermark(); pw != engine.NoWatermark && (wm == engine.NoWatermark || pw < wm) {
			wm = pw
		}
	}
	if wm != engine.NoWatermark {
		b.m.lag.Set((now - wm) / int64(time.Millisecond))
	}
}

// fullLocked: WriteBatch waits while open states plus unread results reach
// max_open_windows, or while maxQueued results wait to be read. The second
// bound keeps a fast input from running ahead of a slow output: a hopping
// window emits a result per key per slide, and unread results would fill
// max_open_windows (a million by default) with rendered bodies.
func (b *windowBuffer) fullLocked() bool {
	return b.openLocked()+b.queued >= b.opts.maxOpen || b.queued >= maxQueued
}

func (b *windowBuffer) broadcastLocked(ch *chan struct{}) {
	close(*ch)
	*ch = make(chan struct{})
}

func (b *windowBuffer) enqueueLocked(it outItem) {
	if it.group == nil {
		it.n = len(it.batch)
	}
	b.queue = append(b.queue, it)
	b.queued += it.n
	b.broadcastLocked(&b.dataCh)
}

// drainLocked moves the shared engine's emissions to the read queue.
func (b *windowBuffer) drainLocked() {
	for _, g := range b.eng.Drain() {
		if len(g.Emissions) == 0 {
			g.Release(nil)
			continue
		}
		b.enqueueGroupLocked(g, nil, g.Release)
	}
}

// enqueueGroupLocked queues a group's results for reading, in parts of at
// most maxResultBatch; release is called once every part was written.
func (b *windowBuffer) enqueueGroupLocked(g *engine.Group, ps *partState, release func(error)) {
	if g.Final && b.m.emitted != nil {
		b.m.emitted.Incr(int64(len(g.Emissions)), g.Window)
	}
	n := len(g.Emissions)
	if n > maxResultBatch {
		release = splitRelease(release, (n+maxResultBatch-1)/maxResultBatch)
	}
	for lo := 0; lo < n; lo += maxResultBatch {
		hi := min(lo+maxResultBatch, n)
		b.enqueueLocked(outItem{group: g, lo: lo, hi: hi, n: hi - lo, release: release, ps: ps})
	}
}

// splitRelease returns a release to be called by each of parts items; the
// last call releases the whole with the first error any part reported.
func splitRelease(release func(error), parts int) func(error) {
	var mu sync.Mutex
	var first error
	return func(err error) {
		mu.Lock()
		if err != nil && first == nil {
			first = err
		}
		parts--
		done := parts == 0
		mu.Unlock()
		if done {
			release(first)
		}
	}
}

// groupMessages turns a group's emissions into messages. The bounds are
// formatted once per distinct value rather than per key: every key of a
// pane window shares them, and sessions closing together often share ends.
// Metadata values shared by the group are boxed into interfaces once:
// MetaSetMut takes `any`, and boxing a string allocates.
func groupMessages(g *engine.Group, lo, hi int) service.MessageBatch {
	batch := make(service.MessageBatch, hi-lo)
	var emit any = "update"
	if g.Final {
		emit = "final"
	}
	var name, typ any = g.Window, g.Type
	var start, end boundCache
	for i := range batch {
		e := &g.Emissions[lo+i]
		start.format(e.Start)
		end.format(e.End)
		// The message owns the body now (TakeBody forgets it); the group
		// lives until its last part is read.
		msg := service.NewMessage(g.TakeBody(lo+i, start.s, end.s))
		msg.MetaSetMut(meta.WindowName, name)
		msg.MetaSetMut("window_type", typ)
		msg.MetaSetMut(meta.WindowKey, e.Key)
		msg.MetaSetMut(meta.WindowStart, start.v)
		msg.MetaSetMut(meta.WindowEnd, end.v)
		msg.MetaSetMut("window_events", e.Events)
		msg.MetaSetMut("window_emit", emit)
		msg.MetaSetMut(meta.WindowID, e.Key+"|"+start.s+"|"+end.s) // == e.ID()
		batch[i] = msg
	}
	return batch
}

// boundCache remembers the last formatted instant, as a string and boxed.
type boundCache struct {
	ns  int64
	s   string
	v   any
	set bool
}

func (c *boundCache) format(ns int64) {
	if !c.set || c.ns != ns {
		c.ns, c.s, c.set = ns, engine.FormatTime(ns), true
		c.v = c.s
	}
}

// WriteBatch implements service.BatchBuffer.
func (b *windowBuffer) WriteBatch(ctx context.Context, batch service.MessageBatch, ackFn service.AckFunc) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	// The input is acked when every hold on ref is released: the writer's
	// own hold (in ingest), each time bucket its events landed in, and the
	// pass-through batch.
	if len(batch) > 0 {
		if sb := sourceBatch(batch[0]); sb != nil {
			// window_kafka: exact through restarts from Kafka alone, so the
			// write-ahead log is not used for its batches.
			if sb.Part.Retry {
				b.writeRetried(ctx, batch, ackFn, sb)
				return nil
			}
			b.writePartitioned(ctx, batch, ackFn, sb)
			return nil
		}
		if partition.SourcesActive() {
			b.writeUnsourced(ctx, batch, ackFn)
			return nil
		}
	}
	if b.wal != nil {
		return b.writeLogged(ctx, batch, ackFn)
	}
	b.ingest(ctx, batch, engine.NewAck(func(err error) { _ = ackFn(context.Background(), err) }))
	return nil
}

// ingest windows a batch whose acknowledgement is ref (an input's, or a
// log segment's), consuming the caller's hold on ref. Callers hold writeMu.
func (b *windowBuffer) ingest(ctx context.Context, batch service.MessageBatch, ref *engine.Ack) {
	b.ingestInto(ctx, batch, ref, nil, 0)
}

// ingestInto is ingest into partition ps's engine (nil: the shared one);
// last is the batch's last source offset (-1: not from the source),
// recorded with the watermark after it for ps's checkpoints.
func (b *windowBuffer) ingestInto(ctx context.Context, batch service.MessageBatch, ref *engine.Ack, ps *partState, last int64) {
	var writerErr error
	defer func() { ref.Release(writerErr) }()

	now := b.clock().UnixNano()
	if cap(b.scratch) < len(batch) {
		b.scratch = append(b.scratch[:cap(b.scratch)], make([]engine.Event, len(batch)-cap(b.scratch))...)
	}
	events := b.scratch[:len(batch)]
	windowed := make([]bool, len(batch))
	// failed: events of a window_kafka partition that failed after
	// validation and may go up the retry ladder (buffer_window_ladder.go).
	var failed []bool
	var pass service.MessageBatch
	for i, msg := range batch {
		if msg.GetError() != nil {
			if ps != nil && retriable(msg) {
				if ok, err := b.x.extract(msg, &events[i], now); ok && err == nil {
					if failed == nil {
						failed = make([]bool, len(batch))
					}
					failed[i] = true
					continue
				}
			}
			pass = append(pass, msg)
			continue
		}
		ok, err := b.x.extract(msg, &events[i], now)
		if err != nil {
			failValidation(msg, err)
			pass = append(pass, msg)
			continue
		}
		if !ok {
			pass = append(pass, msg)
			continue
		}
		events[i].Ref = ref
		windowed[i] = true
	}

	eng, drain := b.eng, b.drainLocked
	if ps != nil {
		eng, drain = ps.eng, func() { b.drainPartLocked(ps) }
		for i := range events {
			events[i].Partition = 0 // the engine serves this partition alone
		}
	}

	b.mu.Lock()
	if b.closed || b.ended {
		b.mu.Unlock()
		writerErr = errShutdown
		return
	}
	if ps != nil && ps.dropped {
		b.mu.Unlock()
		writerErr = errRevoked
		return
	}
	var in, skipped int64
	var routes service.MessageBatch // failed events whose route the ladder awaits
	var fails []ladderFailure
	for i, msg := range batch {
		if ps != nil && last >= 0 && len(ps.idle.replay) > 0 {
			// A previous owner's idleness came before this record.
			ps.replayIdleLocked(originOffset(msg, true))
		}
		if failed != nil && failed[i] {
			origin := originOffset(msg, last >= 0)
			if origin < 0 {
				pass = append(pass, msg)
				continue
			}
			if last >= 0 && ps.counted.Has(origin) {
				// Accounted for already (counted from a copy, or
				// dead-lettered): the replayed original goes no further.
				skipped++
				continue
			}
			if last >= 0 && ps.countedBeforeLocked(&events[i]) {
				// Counted in an earlier life: it must count again in the
				// windows that were not written then, as it is.
				msg.SetError(nil)
				events[i].Ref = ref
				windowed[i] = true
			} else if last < 0 {
				switch ps.copyFateLocked(origin) {
				case copyDrop:
					skipped++
					continue
				case copyLate, copyDeadAgain:
					pass = append(pass, msg)
					continue
				}
			}
			if !windowed[i] {
				fails = append(fails, ps.failedLocked(msg, &events[i], origin, last >= 0, ref, now))
				routes = append(routes, msg)
				continue
			}
		}
		if !windowed[i] {
			continue
		}
		ev := &events[i]
		for b.fullLocked() {
			// The blocked event may itself complete windows.
			eng.Observe(ev, now)
			drain()
			if !b.fullLocked() {
				break
			}
			ch := b.spaceCh
			b.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
			}
			b.mu.Lock()
			if ctx.Err() != nil || b.closed || b.ended || (ps != nil && ps.dropped) {
				// Shutting down: the rest of the batch is not windowed and
				// the input is nacked so it is redelivered.
				b.enqueuePassLocked(ref, pass, ps)
				b.mu.Unlock()
				writerErr = errShutdown
				return
			}
			now = b.clock().UnixNano()
		}
		origin := int64(-1)
		var entry *ladderEntry
		if ps != nil {
			origin = originOffset(msg, last >= 0)
			switch {
			case origin < 0:
			case last >= 0:
				if ps.counted.Has(origin) {
					// Its retry copy was counted (or dead-lettered) before
					// the original was replayed.
					skipped++
					continue
				}
			default:
				switch ps.copyFateLocked(origin) {
				case copyDrop:
					skipped++
					continue
				case copyDeadAgain:
					msg.SetError(errDeadAgain)
					pass = append(pass, msg)
					continue
				case copyCount:
					entry = ps.takeEntryLocked(origin)
				}
			}
		}
		var out engine.Outcome
		if entry != nil {
			// The copy's windows hold its own batch and its original's.
			cref := engine.NewAck(nil)
			cref.Adopt(ref)
			if entry.bref != nil {
				cref.AdoptHeld(entry.bref)
			}
			ev.Ref = cref
			out = eng.AddJudged(ev, now, entry.judge)
			if out.Err == nil && out.Windowed > 0 {
				ps.amendLocked(origin, ev, entry.judge, out.Seq)
			}
			ps.applyHoldLocked()
			if out.Err == nil && len(out.Late) > 0 {
				// Late at the watermark its original arrived at: as in a
				// run where it had not failed. Its route holds both batches.
				if b.handleLate(msg, ev, out.Late) {
					b.enqueuePassLocked(cref, service.MessageBatch{msg}, ps)
				}
				out.Late = nil
			}
			cref.Release(nil)
		} else {
			out = eng.Add(ev, now)
		}
		ev.Ref = nil
		if out.Err != nil {
			failValidation(msg, out.Err)
			pass = append(pass, msg)
			continue
		}
		if origin >= 0 && out.Windowed > 0 {
			ps.counted.Add(origin)
		}
		in++
		if len(out.Late) > 0 {
			if b.handleLate(msg, ev, out.Late) {
				pass = append(pass, msg)
			}
		}
	}
	if ps != nil && last >= 0 {
		ps.replayIdleLocked(last + 1)
		ps.idle.ingestedTo = last + 1
	}
	drain()
	if ps != nil {
		if last >= 0 {
			ps.marks = append(ps.marks, wmMark{last: last, wm: eng.Watermark()})
		}
		ps.arrivalWM = eng.Watermark()
		ps.lastArrival = now
	}
	if ps != nil && last >= 0 {
		var dropped int64
		pass, dropped = ps.dropPassedLocked(pass)
		skipped += dropped
		items := 0
		if len(pass) > 0 {
			items = 1
		}
		pb := ps.trackPassLocked(last, items)
		if items > 0 {
			ref.Hold()
			b.enqueueLocked(outItem{batch: pass, ps: ps, release: func(err error) {
				if err == nil {
					b.mu.Lock()
					ps.passWrittenLocked(pb)
					b.mu.Unlock()
				}
				ref.Release(err)
			}})
		}
		ps.snapshotAfterLocked(last+1, now)
	} else {
		b.enqueuePassLocked(ref, pass, ps)
	}
	if len(routes) > 0 {
		ref.Hold()
		b.enqueueLocked(outItem{batch: routes, ps: ps, release: func(err error) {
			b.mu.Lock()
			ps.routedLocked(fails, err)
			if !ps.dropped {
				b.drainPartLocked(ps)
			}
			b.mu.Unlock()
			ref.Release(err)
		}})
	}
	if skipped > 0 && b.m.duplicates != nil {
		b.m.duplicates.Incr(skipped)
	}
	if b.m.eventsIn != nil {
		b.m.eventsIn.Incr(in)
	}
	b.gaugesLocked(now)
	b.mu.Unlock()
}

func (b *windowBuffer) enqueuePassLocked(ref *engine.Ack, pass service.MessageBatch, ps *partState) {
	if len(pass) == 0 {
		return
	}
	ref.Hold()
	b.enqueueLocked(outItem{batch: pass, release: ref.Release, ps: ps})
}

func failValidation(msg *service.Message, err error) {
	msg.SetError(fmt.Errorf("window: %w", err))
	msg.MetaSetMut(meta.ErrorClass, meta.ClassValidation)
}

// handleLate marks (or drops) a late event; true means pass it through.
func (b *windowBuffer) handleLate(msg *service.Message, ev *engine.Event, late []engine.LateInfo) bool {
	for _, l := range late {
		if b.m.late != nil {
			b.m.late.Incr(1, l.Window)
		}
	}
	if b.opts.dropLate {
		if b.m.droppedLate != nil {
			for _, l := range late {
				b.m.droppedLate.Incr(1, l.Window)
			}
		}
		return false
	}
	if b.lateLog != nil {
		b.lateLog.late(b.lateKey(ev, late[0].Window), ev.Time, late[0])
	}
	l := late[0]
	names := make([]string, len(late))
	for i := range late {
		names[i] = late[i].Window
	}
	msg.SetError(fmt.Errorf("window %s: late event: window [%s, %s) closed (watermark %s)",
		l.Window, engine.FormatTime(l.Start), engine.FormatTime(l.End), engine.FormatTime(l.Watermark)))
	msg.MetaSetMut(meta.ErrorClass, meta.ClassLate)
	msg.MetaSetMut(meta.WindowLate, true)
	msg.MetaSetMut(meta.WindowLateByMs, int64(l.LateBy/time.Millisecond))
	msg.MetaSetMut(meta.WindowName, l.Window)
	msg.MetaSetMut(meta.WindowLateWindows, strings.Join(names, ","))
	msg.MetaSetMut(meta.WindowStart, engine.FormatTime(l.Start))
	msg.MetaSetMut(meta.WindowEnd, engine.FormatTime(l.End))
	msg.MetaSetMut("window_watermark", engine.FormatTime(l.Watermark))
	return true
}

// lateKey is the event's key for the named window definition.
func (b *windowBuffer) lateKey(ev *engine.Event, window string) string {
	for i := range b.opts.engine.Windows {
		if b.opts.engine.Windows[i].Name == window && i < len(ev.Inputs) {
			return string(ev.Inputs[i].Key)
		}
	}
	return ""
}

// ReadBatch implements service.BatchBuffer.
func (b *windowBuffer) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for {
		b.mu.Lock()
		if len(b.queue) > 0 && (b.unacked == 0 || b.unacked+b.queue[0].n <= b.unackedLimit || b.ended || b.closed) {
			// Queued items of window_kafka partitions (a round of results, a
			// pass-through batch) are handed on together up to
			// maxResultBatch messages: with a window state per partition
			// each round is small, and an output writing one small batch per
			// 10 ms linger would crawl.
			n, total := 1, b.queue[0].n
			for b.queue[0].ps != nil && n < len(b.queue) && b.queue[n].ps != nil && total+b.queue[n].n <= maxResultBatch {
				total += b.queue[n].n
				n++
			}
			items := append([]outItem(nil), b.queue[:n]...)
			clear(b.queue[:n])
			b.queue = b.queue[n:]
			for _, it := range items {
				b.queued -= it.n
			}
			b.unacked += total
			b.broadcastLocked(&b.spaceCh)
			b.mu.Unlock()
			var batch service.MessageBatch
			for i := range items {
				if items[i].group != nil {
					items[i].batch = groupMessages(items[i].group, items[i].lo, items[i].hi)
					items[i].group = nil
				}
				if len(items) == 1 {
					batch = items[i].batch
				} else {
					batch = append(batch, items[i].batch...)
				}
			}
			var once sync.Once
			return batch, func(_ context.Context, err error) error {
				once.Do(func() {
					b.mu.Lock()
					b.unacked -= total
					b.broadcastLocked(&b.dataCh)
					b.mu.Unlock()
					for _, it := range items {
						// With the log or window_kafka the input's fate no
						// longer depends on this write alone: retry it
						// instead of nacking.
						if err != nil && (b.wal != nil || it.ps != nil) {
							b.retryLater(it.batch, it.release, it.ps)
							continue
						}
						it.release(err)
					}
				})
				return nil
			}, nil
		}
		if b.ended || b.closed {
			b.mu.Unlock()
			return nil, nil, service.ErrEndOfBuffer
		}
		ch := b.dataCh
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
}

// EndOfInput implements service.BatchBuffer: flush (bounded input) or nack
// (shutdown of an unbounded input) every open window, per end_of_input.
func (b *windowBuffer) EndOfInput() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ended || b.closed {
		return
	}
	if b.opts.nackAtEnd {
		b.eng.Abort(errShutdown)
	} else {
		b.eng.Flush()
	}
	b.drainLocked()
	// window_kafka partitions never flush: the input is unbounded, so its
	// end is a stop, and half-full windows are completed by the next owner.
	b.abortPartsLocked(errShutdown)
	b.ended = true
	b.broadcastLocked(&b.dataCh)
	b.broadcastLocked(&b.spaceCh)
	b.gaugesLocked(b.clock().UnixNano())
}

// Close implements service.BatchBuffer: open windows and unread output are
// nacked so their inputs are consumed again on restart.
func (b *windowBuffer) Close(ctx context.Context) error {
	b.stopOnce.Do(func() { close(b.stop) })
	select {
	case <-b.tickDone:
	case <-ctx.Done():
	}
	if b.attachDone != nil {
		select {
		case <-b.attachDone:
		case <-ctx.Done():
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	b.eng.Abort(errShutdown)
	for _, g := range b.eng.Drain() {
		g.Release(errShutdown)
	}
	b.abortPartsLocked(errShutdown)
	for _, it := range b.queue {
		it.release(errShutdown)
	}
	b.queue, b.queued = nil, 0
	b.broadcastLocked(&b.dataCh)
	b.broadcastLocked(&b.spaceCh)
	if b.wal != nil {
		return b.wal.Close()
	}
	return nil
}
