package window

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

const partitionedYAML = `
timestamp_field: ts
allowed_lateness: 0s
windows:
  - { name: t10, type: tumbling, size: 10s, key_field: k, aggregates: [ { name: n, type: count } ] }
`

// outcomes records each source batch's Done outcome, in call order.
type outcomes struct {
	mu    sync.Mutex
	order []int64 // first offsets
	errs  map[int64]error
}

func (o *outcomes) done(first int64) func(error) {
	return func(err error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.errs == nil {
			o.errs = map[int64]error{}
		}
		o.order = append(o.order, first)
		o.errs[first] = err
	}
}

func (o *outcomes) get() ([]int64, map[int64]error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m := map[int64]error{}
	for k, v := range o.errs {
		m[k] = v
	}
	return append([]int64(nil), o.order...), m
}

// sourced is a batch of the window_kafka input: one event per offset from
// first on, each {"k": key, "ts": t0 + secs[i]}.
func sourced(p *partition.Partition, o *outcomes, first int64, key string, secs ...float64) service.MessageBatch {
	sb := p.NewBatch(first, first+int64(len(secs))-1, o.done(first))
	var batch service.MessageBatch
	for i, s := range secs {
		m := service.NewMessage([]byte(fmt.Sprintf(`{"k":%q,"ts":%q}`, key, engine.FormatTime(at(s)))))
		m.MetaSetMut(partition.MetaKey, sb)
		m.MetaSetMut("kafka_offset", int(first)+i)
		batch = append(batch, m)
	}
	return batch
}

func write(t *testing.T, b *windowBuffer, batch service.MessageBatch) {
	t.Helper()
	var acked ackRecorder
	if err := b.WriteBatch(context.Background(), batch, acked.fn); err != nil {
		t.Fatal(err)
	}
	// The pipeline's transaction ends at once: the outcome goes to the
	// source through the batch.
	if n, err := acked.result(); n != 1 || err != nil {
		t.Fatalf("pipeline ack: %d calls, %v; want one, nil", n, err)
	}
}

// Inputs are acknowledged only when their windows AND every window that
// closed before them are written, even when the output acks out of order:
// the committed offset then never passes a window that is not written.
func TestPartitionedAcksFollowCloseOrder(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes

	write(t, b, sourced(p, &o, 0, "a", 1))  // window [0,10) of a
	write(t, b, sourced(p, &o, 1, "b", 11)) // closes [0,10); window [10,20) of b
	first, ackFirst := readNow(t, b)
	write(t, b, sourced(p, &o, 2, "a", 25)) // closes [10,20)
	second, ackSecond := readNow(t, b)
	if len(first) != 1 || len(second) != 1 {
		t.Fatalf("want two single results, got %d and %d", len(first), len(second))
	}
	if err := ackSecond(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if order, _ := o.get(); len(order) != 0 {
		t.Fatalf("the later window was acked before the earlier one was written: outcomes %v", order)
	}
	if got := p.Sink().Checkpoint(2); got.Released >= at(10) {
		t.Fatalf("released watermark %s covers [0,10), which is not written", engine.FormatTime(got.Released))
	}
	if err := ackFirst(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	order, errs := o.get()
	if len(order) != 2 || order[0] != 0 || order[1] != 1 || errs[0] != nil || errs[1] != nil {
		t.Fatalf("outcomes %v %v, want batches 0 then 1 done", order, errs)
	}
	cp := p.Sink().Checkpoint(2)
	if cp.Watermark != at(11) {
		t.Fatalf("watermark at offset 2 = %s, want %s (the watermark after offset 1)", engine.FormatTime(cp.Watermark), engine.FormatTime(at(11)))
	}
	if cp.Released != at(25) {
		t.Fatalf("released = %s, want %s", engine.FormatTime(cp.Released), engine.FormatTime(at(25)))
	}
}

// A new owner resuming with the old owner's resume point recomputes the
// windows the old owner wrote but does not emit them again.
func TestPartitionedResumeSuppressesWrittenWindows(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	// The old owner committed offset 5 with watermark 8 s; every window
	// closing at or below 12 s ([0,10)) was written.
	p := partition.NewPartition("ev", 0, partition.Resume{Watermark: at(8), Released: at(12)}, 5, nil)
	var o outcomes
	write(t, b, sourced(p, &o, 5, "a", 9, 13, 21))
	res, ack := readNow(t, b)
	if len(res) != 1 {
		t.Fatalf("want only [10,20) of a, got %d results", len(res))
	}
	if id, _ := res[0].MetaGet("window_id"); id != "a|"+engine.FormatTime(at(10))+"|"+engine.FormatTime(at(20)) {
		t.Fatalf("emitted %s, want the window [10,20) only", id)
	}
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := p.Sink().Checkpoint(8); got.Released != at(21) || got.Watermark != at(21) {
		t.Fatalf("checkpoint %+v, want watermark and released 21 s", got)
	}
}

// Dropping a revoked partition emits nothing, takes its unread results off
// the queue and fails its batches (the new owner replays them); batches of
// the partition that arrive afterwards are dropped too.
func TestPartitionedDropEmitsNothing(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	other := partition.NewPartition("ev", 1, partition.Fresh, 0, nil)
	var o, oo outcomes
	write(t, b, sourced(p, &o, 0, "a", 1))
	write(t, b, sourced(p, &o, 1, "a", 15)) // [0,10) of a closes, unread
	write(t, b, sourced(other, &oo, 0, "z", 1))
	<-p.MarkRevoked()
	p.Sink().Drop()
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d results of the dropped partition still queued", n)
	}
	_, errs := o.get()
	if len(errs) != 2 || !errors.Is(errs[0], errRevoked) || !errors.Is(errs[1], errRevoked) {
		t.Fatalf("outcomes %v, want both batches failed as revoked", errs)
	}
	if b.openLocked() != 1 {
		t.Fatalf("open states %d, want only partition 1's", b.openLocked())
	}
	if late := p.NewBatch(2, 2, nil); late != nil {
		t.Fatal("a revoked partition accepted a new batch")
	}
}

// Retried events (not from the source) join the state of the partition
// their metadata names when this instance owns it; one whose partition has
// not delivered here waits for it (and joins it when it does), and is
// passed on as an `unowned` error when it never does.
func TestPartitionedRetriedEventsFollowTheirPartition(t *testing.T) {
	partition.SourceStarted()
	defer partition.SourceStopped()
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 2, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourced(p, &o, 0, "a", 1))

	retried := batchOf(`{"k":"a","ts":"`+engine.FormatTime(at(2))+`"}`, `{"k":"q","ts":"`+engine.FormatTime(at(2))+`"}`, `{"k":"z","ts":"`+engine.FormatTime(at(2))+`"}`)
	for i, part := range []string{"2", "1", "3"} {
		retried[i].MetaSetMut("kafka_topic", "ev")
		retried[i].MetaSetMut("kafka_partition", part)
	}
	var acked ackRecorder
	if err := b.WriteBatch(context.Background(), retried, acked.fn); err != nil {
		t.Fatal(err)
	}
	if n := queuedMsgs(b); n != 0 {
		t.Fatalf("%d messages passed on; the events of partitions 1 and 3 should wait for them", n)
	}
	// Partition 1 delivers: its waiting event joins its state.
	p1 := partition.NewPartition("ev", 1, partition.Fresh, 0, nil)
	write(t, b, sourced(p1, &o, 0, "q", 1, 12))
	res, ackRes := readNow(t, b)
	if n, _ := res[0].MetaGet("window_events"); len(res) != 1 || n != "2" {
		t.Fatalf("partition 1's window [0,10): %d results, %s events; want one with 2 (one retried)", len(res), n)
	}
	_ = ackRes(context.Background(), nil)
	// Partition 3 never does: after unownedWait its event is passed on.
	clock.Add(unownedWait)
	b.tick()
	pass, ackPass := readNow(t, b)
	if len(pass) != 1 || pass[0].GetError() == nil {
		t.Fatalf("want the event of partition 3 passed on as an error, got %d messages", len(pass))
	}
	if c, _ := pass[0].MetaGet("error_class"); c != "unowned" {
		t.Fatalf("error_class %q, want unowned", c)
	}
	_ = ackPass(context.Background(), nil)
	write(t, b, sourced(p, &o, 1, "a", 12))
	res, _ = readNow(t, b)
	if n, _ := res[0].MetaGet("window_events"); n != "2" {
		t.Fatalf("window [0,10) of a counted %s events, want 2 (one retried)", n)
	}
}

// After a restart the replayed original of an event that failed enrichment
// and its copy from the retry ladder may both arrive: whichever comes
// second is skipped, so the event counts once.
func TestPartitionedRetriedCopyCountsOnce(t *testing.T) {
	partition.SourceStarted()
	defer partition.SourceStopped()
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	retryCopy := func(offset int, secs float64) service.MessageBatch {
		m := service.NewMessage([]byte(fmt.Sprintf(`{"k":"a","ts":%q}`, engine.FormatTime(at(secs)))))
		m.MetaSetMut("kafka_topic", "ev")
		m.MetaSetMut("kafka_partition", 0)
		m.MetaSetMut("retry_original_offset", fmt.Sprint(offset))
		return service.MessageBatch{m}
	}
	write(t, b, sourced(p, &o, 0, "a", 1, 2)) // offsets 0, 1
	// Offset 1's copy from the retry ladder: its original was counted.
	var acked ackRecorder
	if err := b.WriteBatch(context.Background(), retryCopy(1, 2), acked.fn); err != nil {
		t.Fatal(err)
	}
	// Offset 5's copy arrives before its original is replayed.
	if err := b.WriteBatch(context.Background(), retryCopy(5, 3), acked.fn); err != nil {
		t.Fatal(err)
	}
	write(t, b, sourced(p, &o, 5, "a", 3))  // the replayed original of 5
	write(t, b, sourced(p, &o, 6, "a", 12)) // closes [0,10)
	res, _ := readNow(t, b)
	if n, _ := res[0].MetaGet("window_events"); n != "3" {
		t.Fatalf("window [0,10) counted %s events, want 3 (offsets 0, 1 and 5 once each)", n)
	}
	if got := queuedMsgs(b); got != 0 {
		t.Fatalf("%d messages queued besides the result: a skipped copy must not be passed on", got)
	}
}

// Small rounds of several partitions are read as one batch, so an output
// that writes a batch per linger is not held to a few results per write.
func TestPartitionedRoundsAreReadTogether(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	var o outcomes
	for i := int32(0); i < 3; i++ {
		p := partition.NewPartition("ev", i, partition.Fresh, 0, nil)
		write(t, b, sourced(p, &o, 0, fmt.Sprint("k", i), 1, 12)) // each closes its [0,10)
	}
	res, ack := readNow(t, b)
	if len(res) != 3 {
		t.Fatalf("read %d results at once, want the 3 partitions' rounds together", len(res))
	}
	_ = ack(context.Background(), nil)
	order, _ := o.get()
	if len(order) != 0 {
		t.Fatalf("batches done %v while their [10,20) windows are open", order)
	}
}

// With `emit: updates`, a new owner's replay does not emit running
// aggregates of windows the previous owner wrote (its final result stays the
// last word for compacted and last-write-wins readers); a partition without
// such windows still gets its updates.
func TestPartitionedResumeSuppressesUpdatesOfWrittenWindows(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, `
timestamp_field: ts
allowed_lateness: 0s
windows:
  - { name: t10, type: tumbling, size: 10s, key_field: k, emit: updates, emit_interval: 1s,
      aggregates: [ { name: n, type: count } ] }
`, clock)
	// The old owner of partition 0 wrote every window closing at or below
	// 12 s: [0,10) among them.
	p := partition.NewPartition("ev", 0, partition.Resume{Watermark: at(8), Released: at(12)}, 5, nil)
	fresh := partition.NewPartition("ev", 1, partition.Fresh, 0, nil)
	var o, of outcomes
	write(t, b, sourced(p, &o, 5, "a", 9))
	write(t, b, sourced(fresh, &of, 0, "b", 9))
	for range 2 { // the first tick starts the update interval
		clock.Add(2 * time.Second)
		b.tick()
	}
	got := map[string]string{}
	for queued(b) > 0 {
		batch, ack := readNow(t, b)
		for _, m := range batch {
			id, _ := m.MetaGet("window_id")
			emit, _ := m.MetaGet("window_emit")
			got[id] = emit
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	bounds := "|" + engine.FormatTime(at(0)) + "|" + engine.FormatTime(at(10))
	if emit, ok := got["a"+bounds]; ok {
		t.Fatalf("emitted %s of a's [0,10), which the previous owner wrote (all: %v)", emit, got)
	}
	if got["b"+bounds] != "update" {
		t.Fatalf("no update of b's open [0,10) (all: %v)", got)
	}
}
