package retry

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

type pauseLog struct {
	mu     sync.Mutex
	events []string
}

func (p *pauseLog) add(s string, tp TP) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, s+" "+tp.Topic)
}

func (p *pauseLog) get() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

func newTestGate(c Clock) (*Gate[int], *pauseLog) {
	pl := &pauseLog{}
	g := NewGate[int](c, func(tp TP) { pl.add("pause", tp) }, func(tp TP) { pl.add("resume", tp) })
	return g, pl
}

// take returns what is released right now without waiting.
func take(t *testing.T, g *Gate[int]) []int {
	t.Helper()
	var out []int
	for {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r, err := g.Next(ctx)
		if err != nil {
			return out
		}
		out = append(out, r.Value)
	}
}

func TestGateHoldsHeadUntilDueAndKeepsOrder(t *testing.T) {
	c := newFakeClock(t0)
	g, pl := newTestGate(c)
	slow := TP{"slow", 0}
	g.Add(slow, []Pending[int]{{1, t0.Add(time.Second)}, {2, t0}, {3, t0.Add(2 * time.Second)}})
	if got := take(t, g); got != nil {
		t.Fatalf("released early: %v", got)
	}
	if ev := pl.get(); !slices.Equal(ev, []string{"pause slow"}) {
		t.Fatalf("events %v", ev)
	}
	c.Advance(999 * time.Millisecond)
	if got := take(t, g); got != nil {
		t.Fatalf("released 1ms early: %v", got)
	}
	c.Advance(time.Millisecond)
	// Record 2 was due long ago but stays behind its head.
	if got := take(t, g); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("got %v want [1 2]", got)
	}
	c.Advance(time.Second)
	if got := take(t, g); !slices.Equal(got, []int{3}) {
		t.Fatalf("got %v want [3]", got)
	}
	if ev := pl.get(); !slices.Equal(ev, []string{"pause slow", "resume slow"}) {
		t.Fatalf("events %v", ev)
	}
	if c.pending() != 0 {
		t.Fatalf("%d timers left armed", c.pending())
	}
}

func TestGatePausedPartitionDoesNotBlockOthers(t *testing.T) {
	c := newFakeClock(t0)
	g, pl := newTestGate(c)
	g.Add(TP{"stage3", 0}, []Pending[int]{{1, t0.Add(time.Hour)}})
	g.Add(TP{"stage1", 0}, []Pending[int]{{2, t0}, {3, time.Time{}}})
	if got := take(t, g); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("due records of another partition held back: %v", got)
	}
	if ev := pl.get(); !slices.Equal(ev, []string{"pause stage3"}) {
		t.Fatalf("events %v", ev)
	}
}

func TestGateDropResumesAndForgets(t *testing.T) {
	c := newFakeClock(t0)
	g, pl := newTestGate(c)
	a, b := TP{"a", 0}, TP{"b", 0}
	g.Add(a, []Pending[int]{{1, t0.Add(time.Minute)}})
	g.Add(b, []Pending[int]{{2, t0}})
	g.Drop([]TP{a, b})
	if got := take(t, g); got != nil {
		t.Fatalf("dropped records released: %v", got)
	}
	if ev := pl.get(); !slices.Equal(ev, []string{"pause a", "resume a", "resume b"}) {
		t.Fatalf("events %v", ev)
	}
	c.Advance(time.Hour)
	if got := take(t, g); got != nil {
		t.Fatalf("timer of dropped partition fired: %v", got)
	}
	if len(g.Paused()) != 0 {
		t.Fatalf("still paused: %v", g.Paused())
	}
}

func TestGateNextWaitsAndClose(t *testing.T) {
	c := newFakeClock(t0)
	g, _ := newTestGate(c)
	got := make(chan int, 1)
	go func() {
		r, err := g.Next(context.Background())
		if err == nil {
			got <- r.Value
		}
	}()
	g.Add(TP{"a", 0}, []Pending[int]{{7, t0.Add(time.Second)}})
	c.Advance(time.Second)
	if v := <-got; v != 7 {
		t.Fatalf("got %d", v)
	}
	g.Close()
	if _, err := g.Next(context.Background()); !errors.Is(err, errGateClosed) {
		t.Fatalf("after close: %v", err)
	}
	if err := g.WaitSpace(context.Background(), 1); !errors.Is(err, errGateClosed) {
		t.Fatalf("WaitSpace after close: %v", err)
	}
}

func TestGateWaitSpaceBackpressure(t *testing.T) {
	g, _ := newTestGate(newFakeClock(t0))
	g.Add(TP{"a", 0}, []Pending[int]{{1, t0}, {2, t0}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.WaitSpace(ctx, 2); err == nil {
		t.Fatalf("WaitSpace returned with 2 released of max 2")
	}
	take(t, g)
	if err := g.WaitSpace(ctx, 2); err != nil {
		t.Fatalf("WaitSpace blocked on an empty gate: %v", err)
	}
}

func TestAckTrackerCommitsContiguousPrefix(t *testing.T) {
	var marks []int64
	tr := newAckTracker(func(_ TP, off int64, _ int32) { marks = append(marks, off) })
	tp := TP{"a", 0}
	tr.assign([]TP{tp})
	a10 := tr.deliver(tp, 10, 0)
	a11 := tr.deliver(tp, 11, 0)
	a13 := tr.deliver(tp, 13, 0) // offsets may have gaps
	a13()
	a11()
	if len(marks) != 0 {
		t.Fatalf("committed past unacked 10: %v", marks)
	}
	a10()
	if !slices.Equal(marks, []int64{14}) {
		t.Fatalf("marks %v want [14]", marks)
	}
	a10() // duplicate ack is harmless
	stale := tr.deliver(tp, 14, 0)
	tr.drop([]TP{tp})
	stale()
	if len(marks) != 1 {
		t.Fatalf("revoked partition marked: %v", marks)
	}
	tr.deliver(tp, 15, 0)() // not owned any more
	if len(marks) != 1 || tr.pending() != 0 {
		t.Fatalf("unowned partition marked: %v", marks)
	}
}

func TestKeyOrderQueue(t *testing.T) {
	k := newKeyOrder(t0)
	if p, _, _ := k.position("k", 0); p != Free {
		t.Fatalf("empty: %v", p)
	}
	t1 := k.ticket(0)
	k.enqueue("k", t1, "s1", t0.Add(time.Second))
	t2 := k.ticket(0)
	if t2 == t1 || k.ticket(t1) != t1 {
		t.Fatalf("tickets %d %d", t1, t2)
	}
	if p, topic, due := k.position("k", 0); p != Behind || topic != "s1" || !due.Equal(t0.Add(time.Second)) {
		t.Fatalf("fresh record: %v %s %v", p, topic, due)
	}
	k.enqueue("k", t2, "s1", t0.Add(time.Second))
	k.enqueue("k", t1, "s2", t0.Add(time.Minute)) // head moved on
	if p, topic, _ := k.position("k", t2); p != Behind || topic != "s2" {
		t.Fatalf("parked record: %v %s", p, topic)
	}
	if p, _, _ := k.position("k", t1); p != Head {
		t.Fatalf("head: %v", p)
	}
	k.done("k", t1)
	if p, _, _ := k.position("k", t2); p != Head {
		t.Fatalf("second becomes head: %v", p)
	}
	k.done("k", t2)
	if p, _, _ := k.position("k", 0); p != Free || len(k.keys) != 0 {
		t.Fatalf("key not forgotten")
	}
}
