package window

import (
	"context"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

const idleSessionsYAML = sessionsYAML + "idle_timeout: 40s\n"

// caughtUp is a source that waits for records of a reachable cluster.
func caughtUp() bool { return true }

// A partition restored from a snapshot with nothing after its committed
// offset delivers no batch. Announced on assignment, it still closes the
// snapshot's sessions idle_timeout later, exactly as the uninterrupted run
// closed them, and its next commit says they are written.
func TestQuietRestoredPartitionClosesItsSnapshotWindowsWhenIdle(t *testing.T) {
	type ev struct {
		key string
		sec float64
	}
	evs := []ev{{"a", 1}, {"b", 2}, {"a", 10}, {"c", 12}, {"b", 20}, {"a", 25}, {"c", 30}, {"a", 40}, {"b", 45}}
	n := int64(len(evs))
	feed := func(b *windowBuffer, p *partition.Partition, clock *fakeClock, from, to int) {
		for i := from; i < to; i++ {
			clock.Add(time.Second)
			write(t, b, sourced(p, &outcomes{}, int64(i), evs[i].key, evs[i].sec))
		}
	}

	clock := &fakeClock{now: time.Unix(0, at(0))}
	calm := newTestBuffer(t, idleSessionsYAML, clock)
	cp := partition.NewPartition("ev", 0, partition.Fresh, 0, caughtUp)
	cp.Fetched(n)
	feed(calm, cp, clock, 0, len(evs))
	clock.Add(40 * time.Second)
	calm.tick()
	want := readAll(t, calm)
	if len(want) != 3 {
		t.Fatalf("the calm run emitted %d sessions when idle, want a, b and c", len(want))
	}

	// The first owner's last batch is followed by a snapshot: its commit
	// lands on the partition's end offset and names it.
	store := &memStore{}
	clock = &fakeClock{now: time.Unix(0, at(0))}
	first := newTestBuffer(t, idleSessionsYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	p.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
	feed(first, p, clock, 0, len(evs)-1)
	s := p.Sink().(*partState)
	first.mu.Lock()
	s.snaps.every, s.snaps.lastCapture = time.Nanosecond, 0
	first.mu.Unlock()
	feed(first, p, clock, len(evs)-1, len(evs))
	kafkatest.Eventually(t, 5*time.Second, "a snapshot covers every offset", func() bool { return s.Covered() == n })
	resume := s.Checkpoint(n)
	if resume.Snap == nil || resume.Snap.At != n {
		t.Fatalf("checkpoint at the end offset %d: %+v; want it to name the snapshot", n, resume)
	}
	s.Committed()
	s.Drop()

	clock = &fakeClock{now: time.Unix(0, at(0))}
	second := newTestBuffer(t, idleSessionsYAML, clock)
	p2 := partition.NewPartition("ev", 0, resume, n, caughtUp)
	p2.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
	if err := p2.LoadSnapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	p2.ListedEnd(n) // no fetch returns for a partition with nothing to read
	second.attachAnnounced(context.Background(), p2)
	clock.Add(39 * time.Second)
	second.tick()
	if got := readAll(t, second); len(got) != 0 {
		t.Fatalf("sessions %v emitted before idle_timeout", got)
	}
	clock.Add(time.Second)
	second.tick()
	got := readAll(t, second)
	if len(got) != len(want) {
		t.Fatalf("the restored partition emitted %d sessions when idle, want %d: %v", len(got), len(want), got)
	}
	for id, body := range want {
		if got[id] != body {
			t.Fatalf("session %s: %q, want %q", id, got[id], body)
		}
	}
	cpt := p2.Sink().Checkpoint(n)
	if cpt.Released < at(45)+sec(30) {
		t.Fatalf("checkpoint %+v after the sessions were written: released %s does not cover them", cpt, engine.FormatTime(cpt.Released))
	}
}

// An announced partition handed back before the buffer attached it gets no
// state: nobody would drop it, and it would emit windows the partition's
// new owner emits too.
func TestAnnouncedPartitionHandedBackGetsNoState(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Resume{Watermark: at(5), Released: at(0)}, 3, caughtUp)
	<-p.MarkRevoked()
	b.attachAnnounced(context.Background(), p)
	if p.Sink() != nil || len(b.parts) != 0 {
		t.Fatal("a partition handed back got window state")
	}
	if _, _, err := b.partFor(p); err == nil {
		t.Fatal("partFor set up state for a revoked partition")
	}
}

// A round whose write failed (a stop released it) keeps every later
// checkpoint of this owner from saying its windows were written, even once
// it is off the queue.
func TestFailedRoundHoldsTheReleasedWatermark(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	write(t, b, sourced(p, &o, 0, "a", 1))
	write(t, b, sourced(p, &o, 1, "b", 11)) // closes [0,10) of a: queued, unread
	sink := p.Sink()
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, errs := o.get(); errs[0] == nil {
		t.Fatalf("outcomes %v: the batch of the unwritten window did not fail", errs)
	}
	if got := sink.Checkpoint(0); got.Released >= at(10) {
		t.Fatalf("checkpoint %+v says [0,10) was written (released %s), but its write failed", got, engine.FormatTime(got.Released))
	}
}

// A retried event of a partition that is assigned here but delivers nothing
// joins that partition's state when the input announces it, instead of
// waiting for a batch and then being passed on as `unowned`.
func TestRetriedEventJoinsAnAnnouncedPartition(t *testing.T) {
	partition.SourceStarted()
	defer partition.SourceStopped()
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML+"idle_timeout: 10s\n", clock)
	retried := batchOf(`{"k":"a","ts":"` + engine.FormatTime(at(2)) + `"}`)
	retried[0].MetaSetMut("kafka_topic", "ev")
	retried[0].MetaSetMut("kafka_partition", "4")
	var acked ackRecorder
	if err := b.WriteBatch(context.Background(), retried, acked.fn); err != nil {
		t.Fatal(err)
	}
	p := partition.NewPartition("ev", 4, partition.Resume{Watermark: at(1), Released: partition.NoWatermark}, 7, caughtUp)
	p.ListedEnd(7)
	b.attachAnnounced(context.Background(), p)
	clock.Add(unownedWait)
	b.tick()
	res, ack := readNow(t, b)
	if len(res) != 1 || res[0].GetError() != nil {
		t.Fatalf("want the window of the retried event, got %d messages (error %v)", len(res), res[0].GetError())
	}
	if n, _ := res[0].MetaGet("window_events"); n != "1" {
		t.Fatalf("window [0,10) of a counted %s events, want 1 (the retried one)", n)
	}
	_ = ack(context.Background(), nil)
	if n, err := acked.result(); n != 1 || err != nil {
		t.Fatalf("the retried event's ack: %d calls, %v; want one, nil", n, err)
	}
}
