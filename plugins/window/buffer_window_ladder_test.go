package window

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// ladderRouter is what the retry_router calls on a failed event's watch.
type ladderRouter interface {
	LadderRetry(due time.Time)
	LadderDead()
}

// event is one record of a window_kafka batch: key and event time (s).
type event struct {
	key    string
	secs   float64
	failed bool // failed enrichment (an error without a class)
}

// sourcedEvents is a window_kafka batch of evs at offsets first, first+1...
func sourcedEvents(p *partition.Partition, o *outcomes, first int64, evs ...event) service.MessageBatch {
	sb := p.NewBatch(first, first+int64(len(evs))-1, o.done(first))
	var batch service.MessageBatch
	for i, e := range evs {
		m := service.NewMessage([]byte(fmt.Sprintf(`{"k":%q,"ts":%q}`, e.key, engine.FormatTime(at(e.secs)))))
		m.MetaSetMut(partition.MetaKey, sb)
		m.MetaSetMut("kafka_offset", int(first)+i)
		if e.failed {
			m.SetError(errors.New("enrichment: 503"))
		}
		batch = append(batch, m)
	}
	return batch
}

// retryCopyOf is the retry ladder's copy of the event at offset of ev/0.
func retryCopyOf(offset int, key string, secs float64, failed bool) service.MessageBatch {
	m := service.NewMessage([]byte(fmt.Sprintf(`{"k":%q,"ts":%q}`, key, engine.FormatTime(at(secs)))))
	m.MetaSetMut(meta.KafkaTopic, "ev")
	m.MetaSetMut(meta.KafkaPartition, "0")
	m.MetaSetMut(meta.RetryOriginalOffset, fmt.Sprint(offset))
	if failed {
		m.SetError(errors.New("enrichment: 503"))
	}
	return service.MessageBatch{m}
}

// writeCopy writes a retry copy and returns its input's ack recorder.
func writeCopy(t *testing.T, b *windowBuffer, batch service.MessageBatch) *ackRecorder {
	t.Helper()
	var acked ackRecorder
	if err := b.WriteBatch(context.Background(), batch, acked.fn); err != nil {
		t.Fatal(err)
	}
	return &acked
}

// routeFailed reads the failed event the buffer passed on, reports route
// on its watch as the retry_router does, and acknowledges the write.
func routeFailed(t *testing.T, b *windowBuffer, route func(ladderRouter)) {
	t.Helper()
	out, ack := readNow(t, b)
	if len(out) != 1 || out[0].GetError() == nil {
		t.Fatalf("want the failed event passed on, got %d messages", len(out))
	}
	v, ok := out[0].MetaGetMut(meta.StashWindowLadder)
	if !ok {
		t.Fatal("the failed event carries no ladder watch")
	}
	route(v.(ladderRouter))
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func windowEvents(t *testing.T, res service.MessageBatch) []string {
	t.Helper()
	var got []string
	for _, m := range res {
		if m.GetError() != nil {
			t.Fatalf("unexpected failed message %v", m.GetError())
		}
		k, _ := m.MetaGet("window_key")
		n, _ := m.MetaGet("window_events")
		s, _ := m.MetaGet("window_start")
		got = append(got, k+"@"+s+"="+n)
	}
	return got
}

func newLadderBuffer(t *testing.T) (*windowBuffer, *fakeClock) {
	partition.SourceStarted()
	t.Cleanup(partition.SourceStopped)
	clock := &fakeClock{now: time.Unix(0, at(0))}
	return newTestBuffer(t, partitionedYAML, clock), clock
}

// While a failed event is on the ladder its partition's windows stay open
// however far its watermark moves; the copy counts in its window as if the
// call had not failed, and its batch is done only once that window is
// written (so the source never commits past it before).
func TestLadderHoldsTheWindowsOfARetriedEvent(t *testing.T) {
	b, clock := newLadderBuffer(t)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1}))
	write(t, b, sourcedEvents(p, &o, 1, event{key: "a", secs: 2, failed: true}))
	routeFailed(t, b, func(r ladderRouter) { r.LadderRetry(clock.Now().Add(time.Second)) })
	write(t, b, sourcedEvents(p, &o, 2, event{key: "b", secs: 35})) // the watermark passes [0,10) and [10,20)
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d results while a's event is on the ladder; [0,10) must wait for it", n)
	}
	// Batch 0 is the first not done (its window waits too): the source
	// would commit offset 0.
	if cp := p.Sink().Checkpoint(0); cp.Released >= at(10) {
		t.Fatalf("checkpoint %+v releases [0,10), which waits for the retried event", cp)
	}

	copyAck := writeCopy(t, b, retryCopyOf(1, "a", 2, false))
	res, ack := readNow(t, b)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(0)) + "=2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v (the retried event counted in its window, not late)", got, want)
	}
	if order, _ := o.get(); len(order) != 0 {
		t.Fatalf("batches %v done before the window of the retried event was written", order)
	}
	if n, _ := copyAck.result(); n != 0 {
		t.Fatal("the retry copy was acknowledged before its window was written")
	}
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	order, errs := o.get()
	if !reflect.DeepEqual(order, []int64{0, 1}) || errs[0] != nil || errs[1] != nil {
		t.Fatalf("outcomes %v %v, want batches 0 and 1 done", order, errs)
	}
	if n, err := copyAck.result(); n != 1 || err != nil {
		t.Fatalf("retry copy ack: %d calls, %v; want one, nil", n, err)
	}

	// A second copy of the same event (the ladder is at least once) and a
	// copy of an offset below the committed one are dropped.
	writeCopy(t, b, retryCopyOf(1, "a", 2, false))
	_ = p.Sink().Checkpoint(2)
	writeCopy(t, b, retryCopyOf(0, "a", 1, true))
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d messages queued: duplicate copies must go no further", n)
	}
}

// A failed event dead-lettered at the end of the ladder releases its
// windows without it, and the commit metadata names it, so the next owner
// skips its replayed original even if its enrichment succeeds then.
func TestLadderDeadLetteredEventIsSkippedOnReplay(t *testing.T) {
	b, _ := newLadderBuffer(t)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1}, event{key: "a", secs: 2, failed: true}))
	write(t, b, sourcedEvents(p, &o, 2, event{key: "a", secs: 12}))
	routeFailed(t, b, func(r ladderRouter) { r.LadderDead() })
	res, ack := readNow(t, b)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(0)) + "=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	_ = ack(context.Background(), nil)
	cp := p.Sink().Checkpoint(0)
	if !reflect.DeepEqual(cp.Dead, []int64{1}) {
		t.Fatalf("checkpoint at 0 names dead %v, want [1]", cp.Dead)
	}
	if cp2 := p.Sink().Checkpoint(2); len(cp2.Dead) != 0 {
		t.Fatalf("checkpoint at 2 names dead %v: offsets below the commit are never replayed", cp2.Dead)
	}

	// A next owner resuming at offset 0 with that metadata (as if [0,10)
	// had not been written yet) skips the original of offset 1, whose
	// enrichment succeeds this time.
	b2, _ := newLadderBuffer(t)
	p2 := partition.NewPartition("ev", 0, partition.Resume{Watermark: cp.Watermark, Released: partition.NoWatermark, Dead: cp.Dead}, 0, nil)
	var o2 outcomes
	write(t, b2, sourcedEvents(p2, &o2, 0, event{key: "a", secs: 1}, event{key: "a", secs: 2}, event{key: "a", secs: 12}))
	res, _ = readNow(t, b2)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(0)) + "=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("replay results %v, want %v (the dead-lettered event skipped)", got, want)
	}
}

// A copy that does not come back within ladderGrace of its due time (it
// reached another instance) stops holding the partition: its windows close
// without it, and the copy, if it comes later, is judged like any event.
func TestLadderHoldExpires(t *testing.T) {
	b, clock := newLadderBuffer(t)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1}, event{key: "a", secs: 2, failed: true}, event{key: "a", secs: 12}))
	routeFailed(t, b, func(r ladderRouter) { r.LadderRetry(clock.Now().Add(time.Second)) })
	clock.Add(time.Second + ladderGrace - time.Millisecond)
	b.tick()
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d results before the hold expired", n)
	}
	clock.Add(time.Millisecond)
	b.tick()
	res, ack := readNow(t, b)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(0)) + "=1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v", got, want)
	}
	_ = ack(context.Background(), nil)
	writeCopy(t, b, retryCopyOf(1, "a", 2, false))
	late, _ := readNow(t, b)
	if c, _ := late[0].MetaGet(meta.ErrorClass); len(late) != 1 || c != meta.ClassLate {
		t.Fatalf("the copy after the hold expired: %d messages, class %q; want it routed late", len(late), c)
	}
}

// After a restart, a copy from before the crash arrives ahead of its
// original's replay: it is dropped (the replay decides the event afresh)
// and does not move the partition's watermark, so the replay judges every
// event as the first run did.
func TestLadderCopyAheadOfItsReplayIsDropped(t *testing.T) {
	b, _ := newLadderBuffer(t)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1}))
	copyAck := writeCopy(t, b, retryCopyOf(3, "a", 50, false))
	if n, err := copyAck.result(); n != 1 || err != nil {
		t.Fatalf("dropped copy ack: %d calls, %v; want one, nil", n, err)
	}
	write(t, b, sourcedEvents(p, &o, 1, event{key: "a", secs: 2}, event{key: "a", secs: 3}, event{key: "a", secs: 50}))
	res, _ := readNow(t, b)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(0)) + "=3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v (no event late: the copy did not move the watermark)", got, want)
	}
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d messages queued besides the result", n)
	}
}

// A dead-letter write waits until the partition's offsets are committed
// with the event named dead; a copy of it that comes again (the write was
// not acknowledged before a crash) goes to the dead-letter route again.
func TestLadderDeadLetterWaitsForTheCommitThatRecordsIt(t *testing.T) {
	b, p, ack, durable := deadLetterWaiting(t)
	select {
	case err := <-durable:
		t.Fatalf("LadderDurable returned %v before any commit", err)
	case <-time.After(50 * time.Millisecond):
	}
	if cp := p.Sink().Checkpoint(0); !reflect.DeepEqual(cp.Dead, []int64{0}) {
		t.Fatalf("checkpoint names dead %v, want [0]", cp.Dead)
	}
	p.Sink().Committed()
	select {
	case err := <-durable:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LadderDurable still waiting after the commit")
	}
	_ = ack(context.Background(), nil)

	writeCopy(t, b, retryCopyOf(0, "a", 1, false))
	again, _ := readNow(t, b)
	if len(again) != 1 || again[0].GetError() == nil {
		t.Fatalf("the copy of a dead-lettered event: %d messages, error %v; want it failed again", len(again), again[0].GetError())
	}
}

// A replayed original that fails again, arriving below the resume's
// released watermark, was settled (counted) by the earlier owner: it
// counts again as it is, in the windows not written yet, instead of
// taking the ladder (which could dead-letter an event the written windows
// counted).
func TestLadderReplayedFailureSettledBeforeCountsAsItIs(t *testing.T) {
	b, _ := newLadderBuffer(t)
	// The earlier owner wrote every window closing at or below 15 s.
	p := partition.NewPartition("ev", 0, partition.Resume{Watermark: partition.NoWatermark, Released: at(15)}, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 12}))
	write(t, b, sourcedEvents(p, &o, 1, event{key: "a", secs: 14, failed: true}))
	write(t, b, sourcedEvents(p, &o, 2, event{key: "a", secs: 16, failed: true}, event{key: "a", secs: 25}))
	// Only the event at 16 s, above the released watermark, takes the
	// ladder; dead-lettered, it lets [10,20) close.
	routeFailed(t, b, func(r ladderRouter) { r.LadderDead() })
	res, ack := readNow(t, b)
	if got, want := windowEvents(t, res), []string{"a@" + engine.FormatTime(at(10)) + "=2"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("results %v, want %v (12 s, and 14 s counted as it is)", got, want)
	}
	// The batch of the event counted as it is waits for its window too.
	if _, errs := o.get(); len(errs) != 0 {
		t.Fatalf("batches %v done before [10,20) was written", errs)
	}
	_ = ack(context.Background(), nil)
	if _, errs := o.get(); len(errs) != 2 || errs[1] != nil {
		t.Fatalf("outcomes %v, want batches 0 and 1 done", errs)
	}
}

// A dead letter whose partition is handed back before a commit records it
// is not written: the new owner replays the original and routes it again.
func TestLadderDeadLetterOfAPartitionHandedBackIsNotWritten(t *testing.T) {
	_, p, ack, durable := deadLetterWaiting(t)
	<-p.MarkRevoked()
	p.Sink().Drop()
	select {
	case err := <-durable:
		if !errors.Is(err, errDeadUnrecorded) {
			t.Fatalf("LadderDurable after the hand-over: %v; want %v", err, errDeadUnrecorded)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("LadderDurable still waiting after the hand-over")
	}
	_ = ack(context.Background(), nil)
}

// deadLetterWaiting passes a failed event of partition 0 at offset 0 on,
// routes it to the dead-letter route, and waits for its record to be durable
// on a goroutine whose result durable receives; ack acknowledges the read.
func deadLetterWaiting(t *testing.T) (*windowBuffer, *partition.Partition, service.AckFunc, chan error) {
	t.Helper()
	b, _ := newLadderBuffer(t)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1, failed: true}))
	out, ack := readNow(t, b)
	v, _ := out[0].MetaGetMut(meta.StashWindowLadder)
	w := v.(interface {
		ladderRouter
		LadderDurable(context.Context) error
	})
	w.LadderDead()
	durable := make(chan error, 1)
	go func() { durable <- w.LadderDurable(context.Background()) }()
	return b, p, ack, durable
}
