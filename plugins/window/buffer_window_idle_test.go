package window

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

const idlePartitionedYAML = partitionedYAML + "idle_timeout: 10s\n"

// byRoute sorts what the buffer hands out: window results by id (their
// event counts) and late events by key.
func byRoute(t *testing.T, b *windowBuffer) (windows map[string]string, late []string) {
	t.Helper()
	windows = map[string]string{}
	for queued(b) > 0 {
		batch, ack := readNow(t, b)
		for _, m := range batch {
			if c, _ := m.MetaGet("error_class"); c == "late" {
				body, _ := m.AsBytes()
				late = append(late, string(body))
				continue
			}
			id, _ := m.MetaGet("window_id")
			n, _ := m.MetaGet("window_events")
			windows[id] = n
		}
		_ = ack(context.Background(), nil)
	}
	return windows, late
}

// Idleness moves a partition's watermark by the wall clock, which a replay
// does not see. The move is carried by the commits (as an IdleMark until a
// commit's offset passes it), the partition's next batch waits until a
// commit carries it, and a new owner replaying the same records applies it
// at the same record: the same window closes with the same events and the
// same record after it is late.
func TestIdlenessIsCommittedAndReplayedAtTheSameRecord(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, idlePartitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, caughtUp)
	p.Fetched(2)
	var o outcomes
	write(t, b, sourced(p, &o, 0, "a", 1, 2))
	clock.Add(10 * time.Second)
	b.tick()
	sink := p.Sink()
	held := sink.Checkpoint(0)
	if len(held.Idle) != 1 || held.Idle[0].At != 2 || held.Idle[0].WM < at(10) {
		t.Fatalf("checkpoint below the idle move: %+v; want one IdleMark at offset 2 past 10 s", held)
	}
	moved := held.Idle[0].WM
	liveWindows, _ := byRoute(t, b)

	// The next batch (an event the moved watermark makes late) waits for a
	// commit that carries the move.
	p.Fetched(3)
	done := make(chan error, 1)
	go func() {
		done <- b.WriteBatch(context.Background(), sourced(p, &o, 2, "b", 3), func(context.Context, error) error { return nil })
	}()
	kafkatest.Consistently(t, 200*time.Millisecond, "the batch after the idle move waiting", func() bool { return len(done) == 0 })
	cp := sink.Checkpoint(2)
	if cp.Idle != nil || cp.Watermark != moved {
		t.Fatalf("checkpoint past the move: %+v; want its watermark %s and no IdleMark", cp, engine.FormatTime(moved))
	}
	sink.Committed()
	kafkatest.Eventually(t, 5*time.Second, "the batch windowed once the move is committed", func() bool { return len(done) == 1 })
	_, liveLate := byRoute(t, b)
	if len(liveWindows) != 1 || len(liveLate) != 1 {
		t.Fatalf("live run: windows %v, late %v; want a's window and b's event late", liveWindows, liveLate)
	}

	// A new owner resumes from the commit below the move and replays the
	// three records, in one batch or in the live run's two.
	for _, split := range []bool{false, true} {
		b2 := newTestBuffer(t, idlePartitionedYAML, &fakeClock{now: time.Unix(0, at(0))})
		p2 := partition.NewPartition("ev", 0, held, 0, caughtUp)
		var o2 outcomes
		if split {
			write(t, b2, sourced(p2, &o2, 0, "a", 1, 2))
			write(t, b2, sourced(p2, &o2, 2, "b", 3))
		} else {
			write(t, b2, sourcedEvents(p2, &o2, 0, event{key: "a", secs: 1}, event{key: "a", secs: 2}, event{key: "b", secs: 3}))
		}
		replayWindows, replayLate := byRoute(t, b2)
		if !maps.Equal(replayWindows, liveWindows) || !slices.Equal(replayLate, liveLate) {
			t.Fatalf("replay (split %v): windows %v, late %v; want what the live run had: %v, %v", split, replayWindows, replayLate, liveWindows, liveLate)
		}
	}
}
