package partition

import (
	"slices"
	"sync"
	"testing"
)

// genericValues stands in for Benthos' Resources.GetOrSetGeneric.
type genericValues struct {
	mu sync.Mutex
	m  map[any]any
}

func (g *genericValues) getOrSet(key, value any) (any, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if v, ok := g.m[key]; ok {
		return v, true
	}
	if g.m == nil {
		g.m = map[any]any{}
	}
	g.m[key] = value
	return value, false
}

// The buffer hears of every partition ready and still assigned, whether it
// starts watching before or after the input announces it; each stream has
// its own Assignments.
func TestAssignmentsReachTheWatcherOfTheirStream(t *testing.T) {
	var g genericValues
	in := Shared("s1", g.getOrSet)
	if Shared("s1", g.getOrSet) != in {
		t.Fatal("two Assignments for one stream")
	}
	if Shared("s2", g.getOrSet) == in {
		t.Fatal("two streams share one Assignments")
	}
	p0, p1, p2 := NewPartition("ev", 0, Fresh, 0, nil), NewPartition("ev", 1, Fresh, 0, nil), NewPartition("ev", 2, Fresh, 0, nil)
	in.Ready(p0)
	in.Ready(p1)
	in.Gone(p1)
	var heard []int32
	in.Watch(func(p *Partition) { heard = append(heard, p.ID) })
	in.Ready(p2)
	if !slices.Equal(heard, []int32{0, 2}) {
		t.Fatalf("the watcher heard of partitions %v, want 0 (announced before it watched) and 2 (after), not 1 (gone)", heard)
	}
}

// The end offset a ListOffsets request gives makes a partition that never
// returns a fetch caught up; a fetch's high watermark is newer and wins.
func TestListedEndMakesAQuietPartitionCaughtUp(t *testing.T) {
	p := NewPartition("ev", 0, Fresh, 40, func() bool { return true })
	if p.CaughtUp() {
		t.Fatal("caught up before its end offset is known")
	}
	p.ListedEnd(40)
	if !p.CaughtUp() || p.Lag() != 0 {
		t.Fatalf("not caught up (lag %d) at its committed offset 40 = its end offset", p.Lag())
	}
	p.Fetched(45)
	p.ListedEnd(40)
	if p.CaughtUp() || p.Lag() != 5 {
		t.Fatalf("lag %d after a fetch saw 45: the older listed end overrode it", p.Lag())
	}
}
