package window

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// memStore keeps snapshots in memory (the Kafka-backed store has its own
// test against a broker, in package source).
type memStore struct {
	mu     sync.Mutex
	snaps  map[int64][]byte // by offset (At)
	forgot []int64
}

func (m *memStore) Save(_ context.Context, at int64, data []byte) (partition.SnapshotRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.snaps == nil {
		m.snaps = map[int64][]byte{}
	}
	m.snaps[at] = append([]byte(nil), data...)
	return partition.SnapshotRef{At: at, Offset: at, Chunks: 1}, nil
}

func (m *memStore) Load(_ context.Context, ref partition.SnapshotRef) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.snaps[ref.At]
	if !ok {
		return nil, fmt.Errorf("no %s", ref)
	}
	return d, nil
}

func (m *memStore) Forget(ref partition.SnapshotRef) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.snaps, ref.At)
	m.forgot = append(m.forgot, ref.At)
}

const sessionsYAML = `
timestamp_field: ts
allowed_lateness: 0s
windows:
  - { name: s, type: session, gap: 30s, key_field: k, aggregates: [ { name: n, type: count } ] }
`

// readAll reads and acknowledges every result queued now, by window id.
func readAll(t *testing.T, b *windowBuffer) map[string]string {
	t.Helper()
	got := map[string]string{}
	for queued(b) > 0 {
		batch, ack := readNow(t, b)
		for _, m := range batch {
			id, _ := m.MetaGet("window_id")
			body, _ := m.AsBytes()
			got[id] = string(body)
		}
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	return got
}

// A partition whose sessions never close gets its commit past them once a
// snapshot is durable: the checkpoint at the covered offset names it, and
// a new owner that restores it and reads only the rest emits exactly the
// sessions an uninterrupted run emits. The snapshot the new owner's later
// commit supersedes is forgotten.
func TestSnapshotCoversOpenSessionsAndRestoresThem(t *testing.T) {
	type ev struct {
		key string
		sec float64
	}
	evs := []ev{{"a", 1}, {"b", 2}, {"a", 10}, {"c", 12}, {"b", 20}, {"a", 25}, {"c", 30}, {"a", 40}, {"b", 45}, {"z", 200}}
	feed := func(b *windowBuffer, p *partition.Partition, o *outcomes, clock *fakeClock, from, to int) {
		for i := from; i < to; i++ {
			clock.Add(time.Second)
			write(t, b, sourced(p, o, int64(i), evs[i].key, evs[i].sec))
		}
	}

	clock := &fakeClock{now: time.Unix(0, at(0))}
	calm := newTestBuffer(t, sessionsYAML, clock)
	cp := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	feed(calm, cp, &outcomes{}, clock, 0, len(evs))
	want := readAll(t, calm)
	if len(want) != 3 {
		t.Fatalf("the calm run emitted %d sessions, want a, b and c", len(want))
	}

	store := &memStore{}
	clock = &fakeClock{now: time.Unix(0, at(0))}
	first := newTestBuffer(t, sessionsYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	p.Snapshots = partition.Snapshots{Store: store, Every: 3 * time.Second}
	var o outcomes
	feed(first, p, &o, clock, 0, 7)
	sink := p.Sink()
	var covered int64
	kafkatest.Eventually(t, 5*time.Second, "a snapshot covers offsets of open sessions", func() bool {
		covered = sink.Covered()
		return covered >= 4
	})
	if order, _ := o.get(); len(order) != 0 {
		t.Fatalf("batches %v were acknowledged although every session is open", order)
	}
	resume := sink.Checkpoint(covered)
	if resume.Snap == nil || resume.Snap.At != covered {
		t.Fatalf("checkpoint at the covered offset %d: %+v; want it to name the snapshot", covered, resume)
	}
	if before := sink.Checkpoint(covered - 1); before.Snap != nil && before.Snap.At > covered-1 {
		t.Fatalf("checkpoint below the covered offset names a later snapshot: %+v", before.Snap)
	}
	sink.Committed()
	if got := readAll(t, first); len(got) != 0 {
		t.Fatalf("the first owner emitted %v although no session closed", got)
	}
	sink.Drop() // revoked: its state goes, the snapshot stays for the new owner

	clock = &fakeClock{now: time.Unix(0, at(0))}
	second := newTestBuffer(t, sessionsYAML, clock)
	p2 := partition.NewPartition("ev", 0, resume, covered, nil)
	p2.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
	if err := p2.LoadSnapshot(context.Background()); err != nil { // as the source does on assignment
		t.Fatal(err)
	}
	var o2 outcomes
	feed(second, p2, &o2, clock, int(covered), len(evs))
	got := readAll(t, second)
	for id, body := range want {
		if got[id] != body {
			t.Fatalf("session %s after the restore: %q, want %q (all: %v)", id, got[id], body, got)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("after the restore %d sessions, want %d: %v", len(got), len(want), got)
	}

	// The new owner takes a snapshot of its own (z's session is open) and
	// commits it: the restored one is no longer named and is forgotten.
	p2.Snapshots.Every = 0
	s2 := p2.Sink().(*partState)
	second.mu.Lock()
	s2.snaps.every, s2.snaps.lastCapture = time.Nanosecond, 0
	second.mu.Unlock()
	clock.Add(time.Second)
	write(t, second, sourced(p2, &o2, int64(len(evs)), "z", 201))
	kafkatest.Eventually(t, 5*time.Second, "the new owner's snapshot covers its offsets", func() bool {
		return s2.Covered() == int64(len(evs))+1
	})
	if r := s2.Checkpoint(int64(len(evs)) + 1); r.Snap == nil || r.Snap.At != int64(len(evs))+1 {
		t.Fatalf("checkpoint %+v: want the new snapshot", r)
	}
	s2.Committed()
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.forgot) != 1 || store.forgot[0] != covered {
		t.Fatalf("forgotten snapshots %v: want the restored one (%d) only", store.forgot, covered)
	}
}

// A snapshot taken while a failed event of the partition is on the retry
// ladder covers nothing until the event's fate is settled; its copy,
// counted after the capture, is an amendment, so a new owner restoring the
// snapshot (the original is below its offset and not replayed) counts it.
func TestSnapshotWaitsForTheLadderAndAmendsTheCopy(t *testing.T) {
	b, clock := newLadderBuffer(t)
	store := &memStore{}
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	p.Snapshots = partition.Snapshots{Store: store, Every: time.Second}
	var o outcomes
	write(t, b, sourcedEvents(p, &o, 0, event{key: "a", secs: 1}))
	write(t, b, sourcedEvents(p, &o, 1, event{key: "a", secs: 2, failed: true}))
	routeFailed(t, b, func(r ladderRouter) { r.LadderRetry(clock.Now().Add(time.Second)) })
	clock.Add(2 * time.Second)
	write(t, b, sourcedEvents(p, &o, 2, event{key: "a", secs: 5}))
	sink := p.Sink().(*partState)
	b.mu.Lock()
	pending := sink.snaps.pending
	b.mu.Unlock()
	if pending == nil || pending.sealed || pending.at != 3 {
		t.Fatalf("pending snapshot %+v: want one of offsets below 3 waiting for the ladder", pending)
	}
	kafkatest.Consistently(t, 200*time.Millisecond, "no coverage while offset 1 is on the ladder", func() bool {
		return sink.Covered() < 0
	})

	writeCopy(t, b, retryCopyOf(1, "a", 2, false)) // acknowledged once [0,10) is written
	kafkatest.Eventually(t, 5*time.Second, "the snapshot covers offsets below 3 once the copy is counted", func() bool {
		return sink.Covered() == 3
	})
	resume := sink.Checkpoint(3)
	if resume.Snap == nil {
		t.Fatalf("checkpoint %+v names no snapshot", resume)
	}

	// The new owner: restores, replays from 3, closes [0,10) with an
	// event at 35 s. Window [0,10) of a has offsets 0, 1 (the copy) and 2.
	b2, _ := newLadderBuffer(t)
	p2 := partition.NewPartition("ev", 0, resume, 3, nil)
	p2.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
	if err := p2.LoadSnapshot(context.Background()); err != nil {
		t.Fatal(err)
	}
	var o2 outcomes
	write(t, b2, sourcedEvents(p2, &o2, 3, event{key: "b", secs: 35}))
	res, ack := readNow(t, b2)
	if got := windowEvents(t, res); len(got) != 1 || got[0] != "a@"+engine.FormatTime(at(0))+"=3" {
		t.Fatalf("after the restore: %v; want a's [0,10) with 3 events", got)
	}
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

// A snapshot covers its offsets only once every window that closed before
// it is written: a closed window is not in the snapshot, and its events
// below the snapshot's offset would not be replayed.
func TestSnapshotCoversOnlyOnceClosedWindowsAreWritten(t *testing.T) {
	b, _, sink := snapshotAfterAnUnwrittenWindow(t)
	kafkatest.Consistently(t, 300*time.Millisecond, "no coverage while [0,10) is not written", func() bool {
		return sink.Covered() < 0
	})
	if got := readAll(t, b); len(got) != 1 {
		t.Fatalf("results %v: want [0,10) of a", got)
	}
	kafkatest.Eventually(t, 5*time.Second, "coverage once [0,10) is written", func() bool {
		return sink.Covered() == 3
	})
}

// A snapshot whose offsets are never settled (here: a closed window the
// output never acknowledges) is abandoned after its limit, so the next one
// can be taken.
func TestSnapshotPendingTooLongIsAbandoned(t *testing.T) {
	b, clock, sink := snapshotAfterAnUnwrittenWindow(t)
	b.mu.Lock()
	if sink.snaps.pending == nil {
		b.mu.Unlock()
		t.Fatal("no snapshot pending")
	}
	limit := sink.snaps.pendingLimit()
	b.mu.Unlock()
	clock.Add(limit - time.Second)
	b.tick()
	b.mu.Lock()
	kept := sink.snaps.pending != nil
	b.mu.Unlock()
	clock.Add(2 * time.Second)
	b.tick()
	b.mu.Lock()
	gone := sink.snaps.pending == nil
	b.mu.Unlock()
	if !kept || !gone {
		t.Fatalf("pending snapshot kept before its limit %v: %v, gone after: %v", limit, kept, gone)
	}
}

// snapshotAfterAnUnwrittenWindow: window [0,10) of a closed and queued
// (not written), and a snapshot of offsets below 3 pending.
func snapshotAfterAnUnwrittenWindow(t *testing.T) (*windowBuffer, *fakeClock, *partState) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	p.Snapshots = partition.Snapshots{Store: &memStore{}, Every: time.Second}
	var o outcomes
	write(t, b, sourced(p, &o, 0, "a", 1))
	write(t, b, sourced(p, &o, 1, "a", 11)) // closes [0,10)
	clock.Add(2 * time.Second)
	write(t, b, sourced(p, &o, 2, "a", 12)) // snapshot of offsets below 3
	return b, clock, p.Sink().(*partState)
}

// A partition whose state cannot be set up fails every batch, not only the
// first, even if the cause goes away: windowing a later batch without the
// earlier ones would emit windows missing their events. Its commit keeps
// the resume point it was assigned with, so the next owner tries again.
func TestUnrestorablePartitionFailsEveryBatch(t *testing.T) {
	ref := &partition.SnapshotRef{At: 5, Offset: 0, Chunks: 1}
	resume := partition.Resume{Watermark: at(10), Snap: ref}
	for _, tc := range []struct {
		name, want string
		first      []byte // the snapshot loaded before the first batch (nil: not loaded)
	}{
		{"corrupt snapshot", "cannot be restored", []byte("not a snapshot")},
		{"snapshot not loaded before the first batch", "was not loaded", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBuffer(t, sessionsYAML, &fakeClock{now: time.Unix(0, at(0))})
			eng, err := engine.New(b.opts.engine)
			if err != nil {
				t.Fatal(err)
			}
			valid, err := eng.Snapshot().Encode()
			if err != nil {
				t.Fatal(err)
			}
			store := &memStore{snaps: map[int64][]byte{5: tc.first}}
			p := partition.NewPartition("ev", 0, resume, 5, nil)
			p.Snapshots = partition.Snapshots{Store: store, Every: time.Hour}
			if tc.first != nil {
				if err := p.LoadSnapshot(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			var o outcomes
			write(t, b, sourced(p, &o, 5, "a", 11))
			// The cause goes away: a readable snapshot is loaded now.
			store.snaps[5] = valid
			if err := p.LoadSnapshot(context.Background()); err != nil {
				t.Fatal(err)
			}
			write(t, b, sourced(p, &o, 6, "a", 12, 50))
			order, errs := o.get()
			if len(order) != 2 {
				t.Fatalf("outcomes of %v; want both batches settled", order)
			}
			for _, first := range []int64{5, 6} {
				if err := errs[first]; err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("batch at %d: %v; want an error containing %q", first, err, tc.want)
				}
			}
			if n := queued(b); n != 0 {
				t.Fatalf("%d results queued; want none", n)
			}
			if err := p.Failed(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the partition's failure: %v; want it recorded for the source", err)
			}
			if got := p.Sink().Checkpoint(5); got.Snap == nil || *got.Snap != *ref || got.Watermark != resume.Watermark {
				t.Fatalf("checkpoint %+v; want the assigned resume point %+v", got, resume)
			}
		})
	}
}

// The source asks Covered, drops the batches below it, then asks Checkpoint;
// a newer snapshot may become effective in between. The checkpoint must
// still name a snapshot holding those batches (the newest at or below its
// offset), and that one is forgotten only once a commit names a newer one.
func TestCheckpointBelowANewerSnapshotNamesTheOlderOne(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, sessionsYAML, clock)
	store := &memStore{}
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	p.Snapshots = partition.Snapshots{Store: store, Every: 3 * time.Second}
	var o outcomes
	off := int64(0)
	feedUntil := func(what string, cond func() bool) {
		t.Helper()
		// Snapshots are written in the background: give each a moment.
		for ; off < 50 && !kafkatest.Within(20*time.Millisecond, cond); off++ {
			clock.Add(time.Second)
			write(t, b, sourced(p, &o, off, "a", float64(off))) // one open session
		}
		if !cond() {
			t.Fatalf("after %d events: no %s", off, what)
		}
	}
	sink := func() partition.Sink { return p.Sink() }
	var first, second int64
	feedUntil("covered offset", func() bool {
		if p.Sink() == nil {
			return false
		}
		first = sink().Covered()
		return first > 0
	})
	feedUntil("newer covered offset", func() bool {
		second = sink().Covered()
		return second > first
	})
	r := sink().Checkpoint(first)
	if r.Snap == nil || r.Snap.At != first {
		t.Fatalf("checkpoint at %d with a newer snapshot at %d effective: %+v; want it to name the snapshot at %d", first, second, r, first)
	}
	sink().Committed()
	if slices.Contains(store.forgot, first) {
		t.Fatalf("the snapshot at %d, named by the last commit, was forgotten", first)
	}
	if r := sink().Checkpoint(second); r.Snap == nil || r.Snap.At != second {
		t.Fatalf("checkpoint at %d: %+v; want it to name the snapshot at %d", second, r, second)
	}
	sink().Committed()
	if !slices.Contains(store.forgot, first) {
		t.Fatalf("the snapshot at %d outlived a commit naming the one at %d (forgotten: %v)", first, second, store.forgot)
	}
}
