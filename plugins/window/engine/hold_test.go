package engine

import "testing"

// The engine alone: Hold caps closing, not the watermark; AddJudged judges
// an event against the watermark it first arrived at.
func TestEngineHoldAndJudgedAdd(t *testing.T) {
	e := mustEngine(t, countCfg(WindowSpec{Name: "t", Kind: Tumbling, Size: dur(10)}, 0))
	e.Add(mkEvent("a", at(1), 0), 0)
	e.Hold(at(2))
	e.Add(mkEvent("b", at(25), 0), 0)
	if got := drain(t, e); len(got) != 0 || e.Watermark() != at(25) || e.ClosedTo() != at(2) {
		t.Fatalf("held engine emitted %v (watermark %d, closed to %d)", got, e.Watermark(), e.ClosedTo())
	}
	if out := e.Add(mkEvent("c", at(3), 0), 0); len(out.Late) != 1 {
		t.Fatalf("an event behind the watermark must be late whatever the hold: %+v", out)
	}
	if out := e.AddJudged(mkEvent("a", at(2), 0), 0, at(2)); len(out.Late) != 0 || out.Windowed != 1 {
		t.Fatalf("judged at its first watermark the retried event is on time: %+v", out)
	}
	e.Hold(1<<63 - 1)
	got := summary(drain(t, e))
	if len(got) != 1 || got[0] != summary([]out{{Key: "a", Start: at(0), End: at(10), Events: 2}})[0] {
		t.Fatalf("after the hold: %v, want a's [0,10) with 2 events first", got)
	}
}
