package engine

import (
	"sort"
	"strings"
	"testing"
)

// Tests of the window semantics that a differential test against an
// independent reference found wrong (issue 13), one per point.

// runHeldOrNot feeds evs to an engine with the startup grace off, or held
// for the whole stream (every event arrives within it), then flushes. It
// returns, per event, the windows it was late for, and every result as
// window/summary, sorted.
func runHeldOrNot(t *testing.T, cfg Config, evs []*Event, held bool) ([]string, []string) {
	t.Helper()
	cfg.StartupGrace = 0
	if held {
		cfg.StartupGrace = dur(3600)
	}
	e := mustEngine(t, cfg)
	var late, res []string
	collect := func() {
		for _, g := range e.Drain() {
			for _, em := range g.Emissions {
				res = append(res, g.Window+" "+summary([]out{{Key: em.Key, Start: em.Start, End: em.End, Events: em.Events}})[0])
			}
			g.Release(nil)
		}
	}
	for _, ev := range evs {
		o := e.Add(ev, at(0))
		var ws []string
		for _, l := range o.Late {
			ws = append(ws, l.Window)
		}
		late = append(late, strings.Join(ws, ","))
		collect()
	}
	e.Flush()
	collect()
	sort.Strings(res)
	return late, res
}

// twoWindowEvent is an event for a buffer with two window definitions.
func twoWindowEvent(key string, t int64, part int) *Event {
	return &Event{Time: t, Partition: part, Inputs: []Input{{Key: []byte(key)}, {Key: []byte(key)}}}
}

// Point 4, first reproducer: with gap 5 s, one key at 0, 100, 2. The event
// at 2 would join the session [0,5) only while the startup grace holds it
// open; that session has closed for the event (5 <= its partition's
// watermark 100), so it is late with the grace held as without it.
func TestSessionLatenessDoesNotDependOnTheGrace(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Session, Gap: dur(5)}, 0)
	evs := []*Event{mkEvent("a", at(0), 0), mkEvent("a", at(100), 0), mkEvent("a", at(2), 0)}
	lateOff, resOff := runHeldOrNot(t, cfg, evs, false)
	lateHeld, resHeld := runHeldOrNot(t, cfg, evs, true)
	eq(t, lateOff, []string{"", "", "w"})
	eq(t, lateHeld, lateOff)
	eq(t, resOff, []string{"w a@00:00:00-00:00:05=1", "w a@00:01:40-00:01:45=1"})
	eq(t, resHeld, resOff)
}

// Point 4, second reproducer: partition 1 sends z@0, partition 0 sends a@0,
// a@100, a@2. The stage watermark stays at 0 (partition 1), but a@2 is
// judged against its own partition (100) by every window definition: late
// for the 10 s tumbling window and for the 5 s session alike.
func TestSessionAndTumblingJudgeAnEventAgainstTheSameWatermark(t *testing.T) {
	cfg := Config{Windows: []WindowSpec{
		{Name: "tumbling", Kind: Tumbling, Size: dur(10), KeyName: "key", Aggs: []AggSpec{{Name: "n", Kind: AggCount}}},
		{Name: "session", Kind: Session, Gap: dur(5), KeyName: "key", Aggs: []AggSpec{{Name: "n", Kind: AggCount}}},
	}}
	evs := []*Event{twoWindowEvent("z", at(0), 1), twoWindowEvent("a", at(0), 0), twoWindowEvent("a", at(100), 0), twoWindowEvent("a", at(2), 0)}
	for _, held := range []bool{false, true} {
		late, res := runHeldOrNot(t, cfg, evs, held)
		eq(t, late, []string{"", "", "", "tumbling,session"})
		eq(t, res, []string{
			"session a@00:00:00-00:00:05=1", "session a@00:01:40-00:01:45=1", "session z@00:00:00-00:00:05=1",
			"tumbling a@00:00:00-00:00:10=1", "tumbling a@00:01:40-00:01:50=1", "tumbling z@00:00:00-00:00:10=1",
		})
	}
}

// Point 4 for hopping windows: an event counts in each window that is open
// for it, also while the grace holds an earlier window (closed for the
// event) unemitted. 20 s windows every 10 s; a@12 arrives when its
// partition is at 25 s, so [0,20) has closed for it and only [10,30) counts
// it, with the grace held as without it.
func TestHoppingEventLeavesOutWindowsClosedForIt(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Hopping, Size: dur(20), Slide: dur(10)}, 0)
	evs := []*Event{mkEvent("a", at(5), 0), mkEvent("a", at(25), 0), mkEvent("a", at(12), 0)}
	want := []string{
		"w a@00:00:00-00:00:20=1", "w a@00:00:10-00:00:30=2", "w a@00:00:20-00:00:40=1", "w a@23:59:50-00:00:10=1",
	}
	for _, held := range []bool{false, true} {
		late, res := runHeldOrNot(t, cfg, evs, held)
		eq(t, late, []string{"", "", ""})
		eq(t, res, want)
	}
}

// Running `updates` of hopping windows leave out an event from the windows
// that had closed for it, as the final results do.
func TestHoppingUpdatesLeaveOutWindowsClosedForTheEvent(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Hopping, Size: dur(20), Slide: dur(10), Emit: EmitUpdates, EmitInterval: dur(1)}, 0)
	cfg.StartupGrace = dur(3600) // held: nothing closes, [0,20) stays in memory
	e := mustEngine(t, cfg)
	for _, s := range []float64{5, 25, 12} {
		e.Add(mkEvent("a", at(s), 0), at(0))
	}
	e.Tick(at(0))          // schedules the first update
	e.Tick(at(0) + sec(1)) // emits it
	var got []string
	for _, g := range e.Drain() {
		if g.Final {
			t.Fatalf("a window closed during the grace: %+v", g)
		}
		for _, em := range g.Emissions {
			got = append(got, summary([]out{{Key: em.Key, Start: em.Start, End: em.End, Events: em.Events}})[0])
		}
		g.Release(nil)
	}
	sort.Strings(got)
	eq(t, got, []string{"a@00:00:00-00:00:20=1", "a@00:00:10-00:00:30=2", "a@00:00:20-00:00:40=1", "a@23:59:50-00:00:10=1"})
}
