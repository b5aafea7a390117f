package engine

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"testing"
	"time"
)

// The property tests compare the engine with a brute-force batch computation
// of the same windows: every event is assigned to its windows directly, the
// watermark is recomputed from scratch per event, and aggregates are
// computed from the full event lists at the end. Idle close and the startup
// grace are off, so the engine's output must be a pure function of the input.

type pEvent struct {
	key       string
	t         int64
	part      int
	v         float64
	page      string
	seq       int64
	partition int
}

var propAggs = []AggSpec{
	{Name: "n", Kind: AggCount}, {Name: "sum", Kind: AggSum, HasInput: true},
	{Name: "min", Kind: AggMin, HasInput: true}, {Name: "max", Kind: AggMax, HasInput: true},
	{Name: "first", Kind: AggFirst, HasInput: true}, {Name: "last", Kind: AggLast, HasInput: true},
	{Name: "pages", Kind: AggCountDistinct, HasInput: true, Limit: 1000},
	{Name: "by_page", Kind: AggCountBy, HasInput: true, Limit: 1000},
}

func (p pEvent) event() *Event {
	n := numVal(p.v)
	pg := strVal(p.page)
	return &Event{Time: p.t, Partition: p.part, Inputs: []Input{{
		Key: []byte(p.key), Values: []Value{n, n, n, n, n, n, pg, pg},
	}}}
}

// bruteAggs computes the expected JSON body fields from a window's events.
func bruteAggs(evs []pEvent) map[string]any {
	sort.Slice(evs, func(i, j int) bool { return before(evs[i].t, evs[i].seq, evs[j].t, evs[j].seq) })
	m := map[string]any{"n": float64(len(evs))}
	sum, mn, mx := 0.0, evs[0].v, evs[0].v
	pages, by := map[string]bool{}, map[string]any{}
	for _, e := range evs {
		sum += e.v
		mn, mx = min(mn, e.v), max(mx, e.v)
		pages[e.page] = true
		c, _ := by[e.page].(float64)
		by[e.page] = c + 1
	}
	m["sum"], m["min"], m["max"] = sum, mn, mx
	m["first"], m["last"] = evs[0].v, evs[len(evs)-1].v
	m["pages"], m["by_page"] = float64(len(pages)), by
	return m
}

func genEvents(r *rand.Rand, n int, disorder int64) []pEvent {
	keys := 1 + r.Intn(5)
	parts := 1 + r.Intn(3)
	var evs []pEvent
	cur := at(float64(r.Intn(100)))
	for i := range n {
		// Quarter-second granularity makes events land exactly on window
		// boundaries, close points and gap limits often.
		cur += int64(r.Intn(12)) * 250 * int64(time.Millisecond)
		if r.Intn(20) == 0 {
			cur += sec(float64(r.Intn(60))) // gaps
		}
		t := cur
		if disorder > 0 {
			t -= r.Int63n(disorder/(250*int64(time.Millisecond))+1) * 250 * int64(time.Millisecond)
		}
		evs = append(evs, pEvent{
			key: fmt.Sprintf("k%d", r.Intn(keys)), t: t, part: r.Intn(parts),
			v: float64(r.Intn(41) - 20), page: fmt.Sprintf("/p%d", r.Intn(4)), seq: int64(i + 1),
		})
	}
	return evs
}

// runEngine feeds events and flushes; it returns body by "key|start|end" and
// checks that final windows come out in non-decreasing end order.
func runEngine(t *testing.T, cfg Config, evs []pEvent) (map[string]map[string]any, []bool) {
	t.Helper()
	e := mustEngine(t, cfg)
	var late []bool
	got := map[string]map[string]any{}
	lastEnd := int64(NoWatermark)
	collect := func() {
		for _, g := range e.Drain() {
			for i, em := range g.Emissions {
				id := em.ID()
				if _, dup := got[id]; dup {
					t.Fatalf("window %s emitted twice", id)
				}
				var body map[string]any
				if err := json.Unmarshal(g.Body(i), &body); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"key", "window_start", "window_end"} {
					delete(body, k)
				}
				got[id] = body
				if cfg.Windows[0].Kind != Session && em.End < lastEnd {
					t.Fatalf("window %s emitted after a later window", id)
				}
				lastEnd = max(lastEnd, em.End)
			}
			g.Release(nil)
		}
	}
	for _, p := range evs {
		o := e.Add(p.event(), 0)
		late = append(late, len(o.Late) > 0)
		collect()
	}
	e.Flush()
	collect()
	if e.Open() != 0 {
		t.Fatalf("%d states open after flush", e.Open())
	}
	return got, late
}

func TestPropertyTumblingHoppingMatchesBruteForce(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		size := sec(float64(1 + r.Intn(10)))
		slide := size
		kind := Tumbling
		if r.Intn(2) == 0 {
			kind = Hopping
			slide = size / int64(1+r.Intn(4))
			slide -= slide % int64(time.Millisecond)
		}
		offset := int64(r.Intn(20)) * 250 * int64(time.Millisecond)
		lateness := int64(r.Intn(5)) * int64(time.Second)
		cfg := Config{AllowedLateness: time.Duration(lateness), Windows: []WindowSpec{{
			Name: "w", Kind: kind, Size: time.Duration(size), Slide: time.Duration(slide), Offset: time.Duration(offset), KeyName: "key", Aggs: propAggs,
		}}}
		evs := genEvents(r, 150+r.Intn(150), sec(8))
		got, late := runEngine(t, cfg, evs)

		// Brute force: the stage watermark before each event = min over seen
		// partitions of their max event time, never decreasing. An event is
		// judged against the larger of the stage watermark and its own
		// partition's max event time: it counts in each window holding it
		// whose end (plus lateness) is after that, and is late when there
		// is none.
		want := map[string][]pEvent{}
		pmax := map[int]int64{}
		wm := int64(NoWatermark)
		for i, p := range evs {
			if v, ok := pmax[p.part]; !ok || p.t > v {
				pmax[p.part] = p.t
			}
			judge := max(wm, pmax[p.part])
			inAny, lateAll := false, true
			for s := alignDown(p.t, slide, offset); s+size > p.t; s -= slide {
				inAny = true
				if s+size+lateness > judge {
					lateAll = false
				}
			}
			if !inAny {
				t.Fatal("event in no window")
			}
			if late[i] != lateAll {
				t.Fatalf("seed %d: event %d (t=%d wm=%d) late=%v, brute force says %v", seed, i, p.t, judge, late[i], lateAll)
			}
			for s := alignDown(p.t, slide, offset); !lateAll && s+size > p.t; s -= slide {
				if s+size+lateness <= judge {
					continue
				}
				id := (&Emission{Key: p.key, Start: s, End: s + size}).ID()
				want[id] = append(want[id], p)
			}
			m := int64(1<<63 - 1)
			for _, v := range pmax {
				m = min(m, v)
			}
			wm = max(wm, m)
		}
		compare(t, seed, got, want)
	}
}

func TestPropertySessionsMatchBruteForce(t *testing.T) {
	for seed := int64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		gap := sec(float64(1 + r.Intn(8)))
		lateness := sec(float64(r.Intn(6)))
		cfg := Config{AllowedLateness: time.Duration(lateness), Windows: []WindowSpec{{
			Name: "s", Kind: Session, Gap: time.Duration(gap), KeyName: "key", Aggs: propAggs,
		}}}
		// Disorder within the allowed lateness across one partition: no
		// event is late, so sessions are exactly the gap-split chains.
		evs := genEvents(r, 150+r.Intn(150), lateness)
		for i := range evs {
			evs[i].part = 0
		}
		got, late := runEngine(t, cfg, evs)
		for i, l := range late {
			if l {
				t.Fatalf("seed %d: event %d late although disorder <= lateness", seed, i)
			}
		}
		byKey := map[string][]pEvent{}
		for _, p := range evs {
			byKey[p.key] = append(byKey[p.key], p)
		}
		want := map[string][]pEvent{}
		for k, list := range byKey {
			sort.Slice(list, func(i, j int) bool { return list[i].t < list[j].t })
			var cur []pEvent
			flush := func() {
				if len(cur) > 0 {
					id := (&Emission{Key: k, Start: cur[0].t, End: cur[len(cur)-1].t + gap}).ID()
					want[id] = cur
				}
			}
			for _, p := range list {
				if len(cur) > 0 && p.t-cur[len(cur)-1].t >= gap {
					flush()
					cur = nil
				}
				cur = append(cur, p)
			}
			flush()
		}
		compare(t, seed, got, want)
	}
}

func compare(t *testing.T, seed int64, got map[string]map[string]any, want map[string][]pEvent) {
	t.Helper()
	if len(got) != len(want) {
		var g, w []string
		for k := range got {
			g = append(g, k)
		}
		for k := range want {
			w = append(w, k)
		}
		sort.Strings(g)
		sort.Strings(w)
		t.Fatalf("seed %d: %d windows, brute force %d\n got %v\nwant %v", seed, len(got), len(want), g, w)
	}
	for id, evs := range want {
		body, ok := got[id]
		if !ok {
			t.Fatalf("seed %d: window %s missing", seed, id)
		}
		if exp := bruteAggs(evs); !reflect.DeepEqual(body, exp) {
			t.Fatalf("seed %d: window %s\n got %v\nwant %v", seed, id, body, exp)
		}
	}
}
