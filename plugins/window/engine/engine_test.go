package engine

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestTumblingUTCAlignmentAndClose(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0))
	now := at(0)
	// Windows align to the UTC epoch: 00:00:00-00:00:10, not to the first event.
	for _, x := range []struct {
		k string
		s float64
	}{{"a", 3}, {"b", 4}, {"a", 9.999}} {
		if o := e.Add(mkEvent(x.k, at(x.s), 0), now); o.Windowed != 1 || len(o.Late) != 0 {
			t.Fatalf("unexpected outcome %+v", o)
		}
	}
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("window closed before watermark passed its end: %v", got)
	}
	e.Add(mkEvent("c", at(10), 0), now) // watermark reaches end (10s): close
	got := drain(t, e)
	eq(t, summary(got), []string{"a@00:00:00-00:00:10=2", "b@00:00:00-00:00:10=1"})
	if got[0].Body["key"] != "a" || got[0].Body["window_start"] != "2024-01-01T00:00:00Z" ||
		got[0].Body["window_end"] != "2024-01-01T00:00:10Z" || got[0].Body["n"] != float64(2) {
		t.Fatalf("body: %v", got[0].Body)
	}
	e.Flush()
	eq(t, summary(drain(t, e)), []string{"c@00:00:10-00:00:20=1"})
}

func TestTumblingOffset(t *testing.T) {
	// 1h windows shifted by 15m: [23:15, 00:15), [00:15, 01:15).
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(3600), Offset: dur(900)}, 0))
	e.Add(mkEvent("k", at(60), 0), 0)
	e.Add(mkEvent("k", at(1000), 0), 0)
	e.Flush()
	eq(t, summary(drain(t, e)), []string{"k@23:15:00-00:15:00=1", "k@00:15:00-01:15:00=1"})

	// Negative offsets and pre-epoch instants align the same way.
	e = mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(10), Offset: -dur(3)}, 0))
	e.Add(mkEvent("k", -sec(1), 0), 0)
	e.Flush()
	got := drain(t, e)
	if got[0].Start != -sec(3) || got[0].End != sec(7) {
		t.Fatalf("window [%d,%d)", got[0].Start, got[0].End)
	}
}

func TestOutOfOrderWithinLatenessAndLateAfterClose(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 5*time.Second))
	e.Add(mkEvent("a", at(1), 0), 0)
	e.Add(mkEvent("a", at(12), 0), 0) // watermark 12 < 10+5: first window still open
	if o := e.Add(mkEvent("a", at(8), 0), 0); len(o.Late) != 0 || o.Windowed != 1 {
		t.Fatalf("out-of-order event within lateness was not counted: %+v", o)
	}
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("closed too early: %v", got)
	}
	e.Add(mkEvent("a", at(15), 0), 0) // watermark 15 = 10+5: close [0,10)
	eq(t, summary(drain(t, e)), []string{"a@00:00:00-00:00:10=2"})

	o := e.Add(mkEvent("a", at(9), 0), 0)
	if len(o.Late) != 1 || o.Windowed != 0 {
		t.Fatalf("late event not reported: %+v", o)
	}
	l := o.Late[0]
	if l.Window != "w" || l.Start != at(0) || l.End != at(10) || l.Watermark != at(15) || l.LateBy != 0 {
		t.Fatalf("late info %+v", l)
	}
	e.Add(mkEvent("a", at(18), 0), 0)
	if o := e.Add(mkEvent("a", at(2), 0), 0); len(o.Late) != 1 || o.Late[0].LateBy != dur(3) {
		t.Fatalf("late_by: %+v", o.Late)
	}
	e.Flush()
	eq(t, summary(drain(t, e)), []string{"a@00:00:10-00:00:20=3"})
}

func TestHoppingWindows(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Kind: Hopping, Size: dur(60), Slide: dur(20)}, 0))
	for _, s := range []float64{5, 25, 45, 65} {
		e.Add(mkEvent("k", at(s), 0), 0)
	}
	// Watermark 65: windows ending <= 65 closed: [-40,20) [-20,40) [0,60).
	eq(t, summary(drain(t, e)), []string{
		"k@23:59:20-00:00:20=1", "k@23:59:40-00:00:40=2", "k@00:00:00-00:01:00=3",
	})
	// An event whose earliest windows are closed still counts in open ones.
	if o := e.Add(mkEvent("k", at(30), 0), 0); len(o.Late) != 0 {
		t.Fatalf("partially late hopping event reported late: %+v", o)
	}
	// ...but one whose windows are all closed is late.
	if o := e.Add(mkEvent("k", at(10), 0), 0); len(o.Late) != 1 || o.Late[0].Start != at(0) || o.Late[0].End != at(60) {
		t.Fatalf("fully late hopping event: %+v", o)
	}
	e.Flush()
	eq(t, summary(drain(t, e)), []string{
		"k@00:00:20-00:01:20=4", "k@00:00:40-00:01:40=2", "k@00:01:00-00:02:00=1",
	})
}

func TestSessionMergeThreeSessionsByBridgingEvents(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Session, Gap: dur(15), Aggs: []AggSpec{
		{Name: "n", Kind: AggCount}, {Name: "sum", Kind: AggSum, HasInput: true},
		{Name: "first", Kind: AggFirst, HasInput: true}, {Name: "last", Kind: AggLast, HasInput: true},
		{Name: "pages", Kind: AggCountDistinct, HasInput: true, Limit: 10},
	}}, 60*time.Second)
	e := mustEngine(t, cfg)
	add := func(s float64, v float64, page string) {
		e.Add(mkEvent("u", at(s), 0, numVal(v), numVal(v), numVal(v), numVal(v), strVal(page)), 0)
	}
	add(0, 1, "a")  // session A [0,15)
	add(20, 2, "b") // session B [20,35)
	add(40, 4, "a") // session C [40,55)
	if n := e.Open(); n != 3 {
		t.Fatalf("open sessions = %d, want 3", n)
	}
	add(10, 8, "c")  // within gap of A and of B: bridges them into [0,35)
	add(30, 16, "d") // bridges A+B and C: [0,55)
	if n := e.Open(); n != 1 {
		t.Fatalf("open sessions after bridging = %d, want 1", n)
	}
	e.Flush()
	got := drain(t, e)
	eq(t, summary(got), []string{"u@00:00:00-00:00:55=5"})
	b := got[0].Body
	if b["sum"] != float64(31) || b["first"] != float64(1) || b["last"] != float64(4) || b["pages"] != float64(4) || b["n"] != float64(5) {
		t.Fatalf("merged aggregates wrong: %v", b)
	}
}

func TestSessionCloseLateAndMaxLength(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Kind: Session, Gap: dur(10), MaxLength: dur(30)}, 0))
	for _, s := range []float64{0, 8, 16, 24} { // 24+10-0 = 34 > 30: new session at 24
		e.Add(mkEvent("u", at(s), 0), 0)
	}
	e.Add(mkEvent("v", at(40), 0), 0) // watermark 40 closes both sessions of u
	eq(t, summary(drain(t, e)), []string{"u@00:00:00-00:00:26=3", "u@00:00:24-00:00:34=1"})
	if o := e.Add(mkEvent("w", at(5), 0), 0); len(o.Late) != 1 || o.Late[0].End != at(15) {
		t.Fatalf("late session event: %+v", o)
	}
	e.Flush()
	eq(t, summary(drain(t, e)), []string{"v@00:00:40-00:00:50=1"})
}

func TestMinWatermarkAcrossPartitionsWithOneIdle(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	cfg.IdleTimeout = dur(60)
	e := mustEngine(t, cfg)
	wall := at(1000)
	e.Add(mkEvent("a", at(1), 1), wall)
	e.Add(mkEvent("b", at(2), 2), wall)
	e.Add(mkEvent("a", at(25), 1), wall)
	// Partition 2 is at 2s: the stage watermark is the minimum, nothing closes.
	if e.Watermark() != at(2) {
		t.Fatalf("watermark %d, want min over partitions %d", e.Watermark(), at(2))
	}
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("closed despite slow partition: %v", got)
	}
	// Partition 1 keeps receiving; partition 2 goes idle after 60s wall.
	e.Add(mkEvent("a", at(26), 1), wall+sec(50))
	e.Tick(wall + sec(61))
	if e.Watermark() != at(26) {
		t.Fatalf("idle partition still holds the watermark: %d", e.Watermark())
	}
	eq(t, summary(drain(t, e)), []string{"a@00:00:00-00:00:10=1", "b@00:00:00-00:00:10=1"})
	// An idle partition becomes active again with its next event.
	e.Add(mkEvent("b", at(27), 2), wall+sec(62))
	if e.Watermark() != at(26) {
		t.Fatalf("watermark %d", e.Watermark())
	}
}

func TestIdleCloseOnOff(t *testing.T) {
	for _, idle := range []bool{false, true} {
		cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
		if idle {
			cfg.IdleTimeout = dur(30)
		}
		e := mustEngine(t, cfg)
		wall := at(5)
		e.Add(mkEvent("a", at(5), 0), wall)
		e.Tick(wall + sec(29))
		if got := drain(t, e); len(got) != 0 {
			t.Fatalf("idle=%v: closed before idle timeout: %v", idle, got)
		}
		e.Tick(wall + sec(30))
		got := drain(t, e)
		if idle {
			eq(t, summary(got), []string{"a@00:00:00-00:00:10=1"})
			// The watermark followed the wall clock.
			if e.Watermark() != wall+sec(30) {
				t.Fatalf("watermark %d", e.Watermark())
			}
		} else if len(got) != 0 || e.Watermark() != at(5) {
			t.Fatalf("idle off: wall clock changed the output: %v wm=%d", got, e.Watermark())
		}
	}
}

func TestMaxFutureSkew(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	cfg.MaxFutureSkew = dur(60)
	e := mustEngine(t, cfg)
	o := e.Add(mkEvent("a", at(100), 0), at(39))
	if !errors.Is(o.Err, ErrFutureSkew) {
		t.Fatalf("future event accepted: %+v", o)
	}
	if e.Watermark() != NoWatermark || e.Open() != 0 {
		t.Fatal("a rejected event moved the watermark or was stored")
	}
	if o := e.Add(mkEvent("a", at(100), 0), at(40)); o.Err != nil {
		t.Fatalf("event within skew rejected: %v", o.Err)
	}
}

func TestAggregates(t *testing.T) {
	aggs := []AggSpec{
		{Name: "count", Kind: AggCount}, {Name: "present", Kind: AggCount, HasInput: true},
		{Name: "sum", Kind: AggSum, HasInput: true}, {Name: "min", Kind: AggMin, HasInput: true},
		{Name: "max", Kind: AggMax, HasInput: true}, {Name: "avg", Kind: AggAvg, HasInput: true},
		{Name: "first", Kind: AggFirst, HasInput: true}, {Name: "last", Kind: AggLast, HasInput: true},
		{Name: "distinct", Kind: AggCountDistinct, HasInput: true, Limit: 2},
		{Name: "collect", Kind: AggCollect, HasInput: true, Limit: 3},
		{Name: "by", Kind: AggCountBy, HasInput: true, Limit: 2},
	}
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(60), Aggs: aggs}, 60*time.Second))
	add := func(s float64, v Value) {
		vals := make([]Value, len(aggs))
		for i := range vals {
			vals[i] = v
		}
		e.Add(mkEvent("k", at(s), 0, vals...), 0)
	}
	add(5, numVal(3))
	add(1, numVal(10)) // earlier in event time, later in arrival
	add(7, Value{})    // missing: counted as an event only
	add(6, strVal("x"))
	add(9, numVal(-2))
	e.Flush()
	b := drain(t, e)[0].Body
	want := map[string]any{
		"count": 5.0, "present": 4.0, "sum": 11.0, "min": -2.0, "max": 10.0, "avg": 11.0 / 3,
		"first": 10.0, "last": -2.0, "distinct": 2.0, "distinct_truncated": true,
		"collect_truncated": true, "by_truncated": true,
	}
	for k, v := range want {
		if b[k] != v {
			t.Errorf("%s = %v, want %v", k, b[k], v)
		}
	}
	if c := b["collect"].([]any); len(c) != 3 || c[0] != 10.0 || c[1] != 3.0 || c[2] != "x" {
		t.Errorf("collect = %v (want the 3 earliest by event time)", c)
	}
	if by := b["by"].(map[string]any); by["3"] != 1.0 || by["10"] != 1.0 || by[OtherBucket] != 2.0 {
		t.Errorf("count_by = %v", by)
	}
}

func TestEmitUpdates(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(60), Emit: EmitUpdates, EmitInterval: dur(5)}, 0)
	e := mustEngine(t, cfg)
	e.Tick(at(0)) // arms the interval
	e.Add(mkEvent("a", at(1), 0), at(1))
	e.Add(mkEvent("b", at(2), 0), at(2))
	e.Tick(at(4))
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("update before interval: %v", got)
	}
	e.Tick(at(5))
	got := drain(t, e)
	eq(t, summary(got), []string{"a@00:00:00-00:01:00=1", "b@00:00:00-00:01:00=1"})
	if got[0].Final {
		t.Fatal("update marked final")
	}
	e.Add(mkEvent("a", at(3), 0), at(6))
	e.Tick(at(10))
	eq(t, summary(drain(t, e)), []string{"a@00:00:00-00:01:00=2"}) // only changed keys
	e.Tick(at(15))
	if got := drain(t, e); len(got) != 0 {
		t.Fatalf("update without change: %v", got)
	}
	e.Add(mkEvent("a", at(60), 0), at(16))
	got = drain(t, e)
	eq(t, summary(got), []string{"a@00:00:00-00:01:00=2", "b@00:00:00-00:01:00=1"})
	if !got[0].Final {
		t.Fatal("closing emission not final")
	}
}

func TestMultipleWindows(t *testing.T) {
	cfg := Config{Windows: []WindowSpec{
		{Name: "t", Kind: Tumbling, Size: dur(10), KeyName: "user", Aggs: []AggSpec{{Name: "n", Kind: AggCount}}},
		{Name: "s", Kind: Session, Gap: dur(30), KeyName: "user", Aggs: []AggSpec{{Name: "n", Kind: AggCount}}},
	}}
	e := mustEngine(t, cfg)
	ev := &Event{Time: at(1), Inputs: []Input{{Key: []byte("u")}, {Key: []byte("u")}}}
	if o := e.Add(ev, 0); o.Windowed != 2 {
		t.Fatalf("windowed = %d", o.Windowed)
	}
	skip := &Event{Time: at(2), Inputs: []Input{{Key: []byte("u")}, {Skip: true}}}
	if o := e.Add(skip, 0); o.Windowed != 1 {
		t.Fatalf("windowed = %d", o.Windowed)
	}
	e.Flush()
	got := drain(t, e)
	if len(got) != 2 || got[0].Window != "t" || got[0].Events != 2 || got[1].Window != "s" || got[1].Events != 1 {
		t.Fatalf("got %+v", got)
	}
	if got[0].Body["user"] != "u" {
		t.Fatalf("key_name not used: %v", got[0].Body)
	}
}

func TestAckHeldUntilEveryWindowAcked(t *testing.T) {
	cfg := Config{Windows: []WindowSpec{
		{Name: "h", Kind: Hopping, Size: dur(20), Slide: dur(10), KeyName: "key"},
		{Name: "s", Kind: Session, Gap: dur(5), KeyName: "key"},
	}}
	e := mustEngine(t, cfg)
	var acked []error
	ref := NewAck(func(err error) { acked = append(acked, err) })
	ev := &Event{Time: at(12), Ref: ref, Inputs: []Input{{Key: []byte("k")}, {Key: []byte("k")}}}
	e.Add(ev, 0)
	ref.Release(nil) // the writer's hold
	e.Add(&Event{Time: at(100), Inputs: []Input{{Key: []byte("x")}, {Key: []byte("x")}}}, 0)
	groups := e.Drain()
	// Two hopping windows ([0,20) and [10,30)) and one session hold the input.
	if len(groups) != 3 {
		t.Fatalf("groups = %d", len(groups))
	}
	for i, g := range groups {
		if len(acked) != 0 {
			t.Fatalf("input acked after %d of %d emissions", i, len(groups))
		}
		var err error
		if i == 1 {
			err = errors.New("output failed")
		}
		g.Release(err)
	}
	if len(acked) != 1 || acked[0] == nil || acked[0].Error() != "output failed" {
		t.Fatalf("acked = %v, want one nack carrying the output error", acked)
	}
}

func TestAbortNacksOpenWindows(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0))
	var got []error
	ref := NewAck(func(err error) { got = append(got, err) })
	e.Add(&Event{Time: at(1), Ref: ref, Inputs: []Input{{Key: []byte("a")}}}, 0)
	e.Add(&Event{Time: at(2), Ref: ref, Inputs: []Input{{Key: []byte("b")}}}, 0)
	ref.Release(nil)
	shut := errors.New("shutdown")
	e.Abort(shut)
	if len(got) != 1 || got[0] != shut || e.Open() != 0 {
		t.Fatalf("abort: acks %v open %d", got, e.Open())
	}
}

func TestValidate(t *testing.T) {
	bad := []struct {
		w    WindowSpec
		want string
	}{
		{WindowSpec{Name: "a", Kind: Tumbling}, "windows[0].size"},
		{WindowSpec{Name: "a", Kind: Hopping, Size: 10, Slide: 20}, "windows[0].slide"},
		{WindowSpec{Name: "a", Kind: Hopping, Size: 10}, "windows[0].slide"},
		{WindowSpec{Name: "a", Kind: Session}, "windows[0].gap"},
		{WindowSpec{Name: "a", Kind: Session, Gap: 10, MaxLength: 5}, "windows[0].max_length"},
		{WindowSpec{Name: "a", Kind: Kind(9)}, "windows[0].type"},
		{WindowSpec{Name: "a", Kind: Tumbling, Size: 1, Aggs: []AggSpec{{Name: "s", Kind: AggSum}}}, "windows[0].aggregates[0]"},
	}
	for _, c := range bad {
		_, err := New(Config{Windows: []WindowSpec{c.w}})
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("%+v: err %v, want mention of %s", c.w, err, c.want)
		}
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestFloorDivAlign(t *testing.T) {
	if floorDiv(-1, 10) != -1 || floorDiv(-10, 10) != -1 || floorDiv(9, 10) != 0 || floorDiv(-11, 10) != -2 {
		t.Fatal("floorDiv")
	}
	if alignDown(-1, 10, 0) != -10 || alignDown(25, 10, 3) != 23 || alignDown(2, 10, 3) != -7 {
		t.Fatal("alignDown")
	}
	_ = math.MaxInt64
}

func TestNameFieldNamesTheWindowInTheBody(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	cfg.Windows[0].Name, cfg.Windows[0].KeyName, cfg.Windows[0].NameField = "user_10s", "user_id", "window"
	e := mustEngine(t, cfg)
	e.Add(mkEvent("u1", at(1), 0), at(1))
	e.Add(mkEvent("u1", at(25), 0), at(25))
	got := drain(t, e)
	if len(got) != 1 || got[0].Body["window"] != "user_10s" || got[0].Body["user_id"] != "u1" {
		t.Fatalf("emission %+v, want the body to name window user_10s", got)
	}
}

// Windows whose aggregates are all plain counts keep no accumulators (the
// count is the state's event count); their results must equal those of
// the accumulator path, for panes merged into hopping windows and for
// merged sessions too.
func TestPlainCountsWithoutAccumulatorsMatchTheAccumulatorPath(t *testing.T) {
	if accumsFor([]AggSpec{{Name: "a", Kind: AggCount}, {Name: "b", Kind: AggCount}}) != 0 {
		t.Fatal("plain counts should need no accumulators")
	}
	if accumsFor([]AggSpec{{Name: "a", Kind: AggCount}, {Name: "p", Kind: AggCount, HasInput: true}}) != 2 {
		t.Fatal("a count of present values needs its accumulators")
	}
	plain := []AggSpec{{Name: "n", Kind: AggCount}, {Name: "m", Kind: AggCount}}
	withSum := append(append([]AggSpec{}, plain...), AggSpec{Name: "s", Kind: AggSum, HasInput: true})
	for _, w := range []WindowSpec{
		{Kind: Tumbling, Size: dur(10)},
		{Kind: Hopping, Size: dur(30), Slide: dur(10)},
		{Kind: Session, Gap: dur(5)},
	} {
		run := func(aggs []AggSpec) []out {
			w := w
			w.Aggs = aggs
			e := mustEngine(t, countCfg(w, 0))
			for i, s := range []float64{1, 2, 4, 12, 13, 3, 25, 26, 27, 40} {
				key := []string{"a", "b"}[i%2]
				e.Add(mkEvent(key, at(s), 0, numVal(1), numVal(1), numVal(1)), 0)
			}
			e.Flush()
			return drain(t, e)
		}
		got, want := run(plain), run(withSum)
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%v: %d results without accumulators, %d with", w.Kind, len(got), len(want))
		}
		for i := range got {
			g, x := got[i], want[i]
			if g.Key != x.Key || g.Start != x.Start || g.Events != x.Events ||
				g.Body["n"] != x.Body["n"] || g.Body["m"] != x.Body["m"] || g.Body["n"] != float64(g.Events) {
				t.Fatalf("%v result %d: got %+v, want %+v", w.Kind, i, g, x)
			}
		}
	}
}

// Final tumbling and session results are rendered when read, not when the
// window closes: events that arrive between the two (late ones for the
// same window, later windows and sessions of the same key) must not change
// them.
func TestLazilyRenderedResultsAreTheCountsAtClose(t *testing.T) {
	for _, w := range []WindowSpec{{Kind: Tumbling, Size: dur(10)}, {Kind: Session, Gap: dur(5)}} {
		e := mustEngine(t, countCfg(w, 0))
		e.Add(mkEvent("a", at(1), 0), 0)
		e.Add(mkEvent("a", at(2), 0), 0)
		e.Add(mkEvent("b", at(30), 0), 0) // closes a's window / session
		groups := e.Drain()
		if len(groups) != 1 || len(groups[0].Emissions) != 1 || groups[0].Emissions[0].Body != nil {
			t.Fatalf("%v: want one unrendered result, got %+v", w.Kind, groups)
		}
		if late := e.Add(mkEvent("a", at(3), 0), 0); len(late.Late) == 0 {
			t.Fatalf("%v: an event for the closed window was not late", w.Kind)
		}
		for _, s := range []float64{31, 32, 33} {
			e.Add(mkEvent("a", at(s), 0), 0)
		}
		var body map[string]any
		if err := json.Unmarshal(groups[0].Body(0), &body); err != nil {
			t.Fatal(err)
		}
		if body["n"] != 2.0 || body["key"] != "a" {
			t.Fatalf("%v: rendered %v, want a with n 2", w.Kind, body)
		}
		groups[0].Release(nil)
	}
}
