package engine

import (
	"testing"
	"time"
)

// backlog is what a restart finds on three partitions: each holds, in
// order, its users' events over four 10 s windows; the partitions are
// delivered one after another (as fetches return), not interleaved.
func backlog() []*Event {
	var evs []*Event
	for p := 1; p <= 3; p++ {
		for _, s := range []float64{1, 4, 7, 11, 14, 17, 21, 24, 27, 31} {
			evs = append(evs, mkEvent("u"+itoa(int64(p)), at(s), p))
		}
	}
	return evs
}

func TestStartupGraceCountsBacklogOfEveryPartition(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 5*time.Second)
	cfg.StartupGrace = dur(5)
	e := mustEngine(t, cfg)
	wall := at(1000)
	for i, ev := range backlog() {
		// A millisecond of wall clock per event: all three partitions
		// deliver well within the grace.
		if o := e.Add(ev, wall+int64(i)*int64(time.Millisecond)); len(o.Late) != 0 || o.Windowed != 1 {
			t.Fatalf("event %d (partition %d, %s) not counted: %+v", i, ev.Partition, FormatTime(ev.Time), o)
		}
	}
	if got := drain(t, e); len(got) != 0 || e.Watermark() != NoWatermark {
		t.Fatalf("windows closed during the startup grace: %v (watermark %d)", summary(got), e.Watermark())
	}
	e.Tick(wall + sec(5) - 1)
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("closed before the grace ended: %v", summary(got))
	}
	// The grace ends by wall clock: the stage watermark becomes the minimum
	// over the partitions (all at 31 s), closing [0,10) and [10,20).
	e.Tick(wall + sec(5))
	if e.Watermark() != at(31) {
		t.Fatalf("watermark %s after the grace, want 00:00:31", FormatTime(e.Watermark()))
	}
	eq(t, summary(drain(t, e)), []string{
		"u1@00:00:00-00:00:10=3", "u2@00:00:00-00:00:10=3", "u3@00:00:00-00:00:10=3",
		"u1@00:00:10-00:00:20=3", "u2@00:00:10-00:00:20=3", "u3@00:00:10-00:00:20=3",
	})
	e.Flush()
	eq(t, summary(drain(t, e)), []string{
		"u1@00:00:20-00:00:30=3", "u2@00:00:20-00:00:30=3", "u3@00:00:20-00:00:30=3",
		"u1@00:00:30-00:00:40=1", "u2@00:00:30-00:00:40=1", "u3@00:00:30-00:00:40=1",
	})
}

func TestStartupGraceZeroKeepsPureRule(t *testing.T) {
	// Without the grace the first partition moves the watermark alone (it
	// is the only one seen), so the later partitions' older events are late:
	// the pre-grace behaviour, kept for strictly wall-clock-free runs.
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 5*time.Second))
	late := map[int]int{}
	for _, ev := range backlog() {
		if o := e.Add(ev, at(1000)); len(o.Late) > 0 {
			late[ev.Partition]++
		}
	}
	// Partition 1 reached 31 s: [0,10) and [10,20) closed before partitions
	// 2 and 3 delivered their first six events each.
	if late[1] != 0 || late[2] != 6 || late[3] != 6 {
		t.Fatalf("late events per partition %v, want map[2:6 3:6]", late)
	}
}

func TestStartupGraceEndsWithAnEventAfterIt(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	cfg.StartupGrace = dur(5)
	e := mustEngine(t, cfg)
	e.Add(mkEvent("a", at(1), 1), at(100))
	e.Add(mkEvent("a", at(12), 1), at(104))
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("closed during the grace: %v", summary(got))
	}
	// No tick needed: the first event after the grace releases the
	// watermark.
	e.Add(mkEvent("a", at(13), 1), at(105))
	eq(t, summary(drain(t, e)), []string{"a@00:00:00-00:00:10=1"})
}

func TestLatenessIsJudgedAgainstTheEventsOwnPartition(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 2*time.Second)
	cfg.StartupGrace = dur(5)
	e := mustEngine(t, cfg)
	wall := at(1000)
	e.Add(mkEvent("a", at(1), 1), wall)
	e.Add(mkEvent("a", at(15), 1), wall)
	// Partition 1 is at 15 s: an event 3 s out of order within the lateness
	// counts, one behind [0,10)+2s is late although the grace holds the
	// window open, exactly as without the grace.
	if o := e.Add(mkEvent("a", at(13), 1), wall); len(o.Late) != 0 {
		t.Fatalf("event within the lateness of its partition was late: %+v", o)
	}
	o := e.Add(mkEvent("a", at(3), 1), wall)
	if len(o.Late) != 1 || o.Late[0].Watermark != at(15) || o.Late[0].LateBy != dur(3) {
		t.Fatalf("event 12 s behind its partition: %+v", o)
	}
	// Another partition far behind is not judged against partition 1: its
	// event at 2 s counts in the still open [0,10).
	if o := e.Add(mkEvent("b", at(2), 2), wall); len(o.Late) != 0 {
		t.Fatalf("a slower partition's event was judged against another partition: %+v", o)
	}
	// After the grace partition 2 (at 2 s) holds the stage watermark; once
	// it passes 12 s, [0,10) closes with the late event left out.
	e.Tick(wall + sec(5))
	if got := drain(t, e); len(got) != 0 || e.Watermark() != at(2) {
		t.Fatalf("closed past the slower partition: %v (watermark %s)", summary(got), FormatTime(e.Watermark()))
	}
	e.Add(mkEvent("b", at(13), 2), wall+sec(6))
	eq(t, summary(drain(t, e)), []string{"a@00:00:00-00:00:10=1", "b@00:00:00-00:00:10=1"})
}

func TestPartitionFirstSeenAfterTheGrace(t *testing.T) {
	// A partition assigned later (rebalance) holds the watermark back from
	// its first event on, but its events older than windows already closed
	// are late: the stage watermark never goes backwards.
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	cfg.StartupGrace = dur(5)
	e := mustEngine(t, cfg)
	e.Add(mkEvent("a", at(25), 1), at(100))
	e.Tick(at(105))
	if e.Watermark() != at(25) {
		t.Fatalf("watermark %s", FormatTime(e.Watermark()))
	}
	if o := e.Add(mkEvent("b", at(5), 2), at(106)); len(o.Late) != 1 {
		t.Fatalf("event of a window closed before its partition appeared: %+v", o)
	}
	if o := e.Add(mkEvent("b", at(21), 2), at(106)); len(o.Late) != 0 {
		t.Fatalf("event of an open window: %+v", o)
	}
	e.Add(mkEvent("a", at(35), 1), at(107))
	if e.Watermark() != at(25) {
		t.Fatalf("the new partition (at 21 s) did not hold the watermark: %s", FormatTime(e.Watermark()))
	}
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("closed while the new partition is behind: %v", summary(got))
	}
}
