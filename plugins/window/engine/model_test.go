package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// A brute-force model of the documented semantics, run against the engine
// on random streams: several partitions interleaved at random, split into
// random input batches (one ack per batch), tumbling, hopping and session
// windows (with and without max_length, alone or several in one engine),
// and a startup grace that ends at a random point of the stream. The model
// keeps every event of every window, never closes anything, and decides
// membership from the lateness rule alone (plugins/window/
// buffer_window_spec.go, Watermarks and closing): an event is judged
// against max(stage watermark, its own partition's watermark) and counts
// in a window, or joins a session, only if that window's end +
// allowed_lateness is after it.

// mEvent is one generated event; id identifies it across interleavings.
type mEvent struct {
	key  string
	t    int64
	part int
	v    float64
	page string
	id   int
}

// genPartitions returns each partition's events in that partition's order.
// With affine keys every key lives in one partition (Kafka's keyed
// partitioning).
func genPartitions(r *rand.Rand, affine bool) [][]mEvent {
	nparts := 1 + r.Intn(3)
	parts := make([][]mEvent, nparts)
	id := 0
	for p := range parts {
		cur := at(float64(r.Intn(30)))
		n := 20 + r.Intn(80)
		disorder := int64(r.Intn(40)) // quarter seconds
		for range n {
			cur += int64(r.Intn(10)) * 250 * int64(time.Millisecond)
			if r.Intn(25) == 0 {
				cur += sec(float64(r.Intn(40)))
			}
			t := cur - r.Int63n(disorder+1)*250*int64(time.Millisecond)
			k := r.Intn(4)
			key := fmt.Sprintf("k%d", k)
			if affine {
				key = fmt.Sprintf("p%d.k%d", p, k)
			}
			parts[p] = append(parts[p], mEvent{key: key, t: t, part: p, v: float64(r.Intn(21) - 10),
				page: fmt.Sprintf("/p%d", r.Intn(3)), id: id})
			id++
		}
	}
	return parts
}

// interleave merges the partitions in a random order that keeps each
// partition's own order.
func interleave(r *rand.Rand, parts [][]mEvent) []mEvent {
	idx := make([]int, len(parts))
	var out []mEvent
	for {
		var live []int
		for p := range parts {
			if idx[p] < len(parts[p]) {
				live = append(live, p)
			}
		}
		if len(live) == 0 {
			return out
		}
		// Runs of one partition, as fetches deliver them.
		p := live[r.Intn(len(live))]
		for n := 1 + r.Intn(6); n > 0 && idx[p] < len(parts[p]); n-- {
			out = append(out, parts[p][idx[p]])
			idx[p]++
		}
	}
}

// allSeen is the number of leading events that includes every partition.
func allSeen(evs []mEvent, nparts int) int {
	seen := map[int]bool{}
	for i, e := range evs {
		seen[e.part] = true
		if len(seen) == nparts {
			return i + 1
		}
	}
	return len(evs)
}

func (e mEvent) pEvent(seq int) pEvent {
	return pEvent{key: e.key, t: e.t, part: e.part, v: e.v, page: e.page, seq: int64(seq)}
}

// modelResult is what a run produced: bodies by "window|key|start|end"
// (without key and bounds) and, per event id, the windows it was late for.
// The model also lists each window's events (seq = arrival index + 1).
type modelResult struct {
	bodies  map[string]map[string]any
	late    map[int]string
	windows map[string][]pEvent
}

// graceNone: startup_grace off; otherwise the grace ends just before the
// event with that index, at least 1 (the grace starts with the first event;
// len(evs): it never ends before the flush).
const graceNone = -1

type mSession struct {
	start, last int64
	evs         []pEvent
	dead        bool
}

// model computes the expected result of feeding evs, in order, to an engine
// with cfg, the grace ending before event graceEnd.
func model(cfg Config, evs []mEvent, graceEnd int) modelResult {
	L := int64(cfg.AllowedLateness)
	pmax := map[int]int64{}
	stage := int64(NoWatermark)
	holding := graceEnd != graceNone
	raise := func() {
		m := int64(math.MaxInt64)
		for _, v := range pmax {
			m = min(m, v)
		}
		stage = max(stage, m)
	}
	windows := map[string][]pEvent{}
	sessions := make([]map[string][]*mSession, len(cfg.Windows))
	for i := range sessions {
		sessions[i] = map[string][]*mSession{}
	}
	res := modelResult{bodies: map[string]map[string]any{}, late: map[int]string{}}
	for i, e := range evs {
		if holding && i == graceEnd {
			holding = false
			raise()
		}
		if v, ok := pmax[e.part]; !ok || e.t > v {
			pmax[e.part] = e.t
		}
		if !holding {
			raise()
		}
		judge := max(stage, pmax[e.part])
		p := e.pEvent(i + 1)
		var late []string
		for wi := range cfg.Windows {
			w := &cfg.Windows[wi]
			size, gap, maxLength := int64(w.Size), int64(w.Gap), int64(w.MaxLength)
			if w.Kind != Session {
				slide := int64(w.Slide)
				if w.Kind == Tumbling {
					slide = size
				}
				counted := false
				for s := alignDown(e.t, slide, int64(w.Offset)); s+size > e.t; s -= slide {
					if s+size+L > judge {
						id := w.Name + "|" + (&Emission{Key: e.key, Start: s, End: s + size}).ID()
						windows[id] = append(windows[id], p)
						counted = true
					}
				}
				if !counted {
					late = append(late, w.Name)
				}
				continue
			}
			fits := func(start, last int64) bool { return maxLength == 0 || last+gap-start <= maxLength }
			list := sessions[wi][e.key]
			var over []*mSession
			for _, s := range list {
				if s.start < e.t+gap && e.t < s.last+gap && s.last+gap+L > judge {
					over = append(over, s)
				}
			}
			var target *mSession
			if len(over) > 0 {
				start, last := e.t, e.t
				for _, s := range over {
					start, last = min(start, s.start), max(last, s.last)
				}
				if fits(start, last) {
					target = over[0]
					for _, s := range over[1:] {
						target.start, target.last = min(target.start, s.start), max(target.last, s.last)
						target.evs = append(target.evs, s.evs...)
						s.dead = true
					}
				} else {
					for j := len(over) - 1; j >= 0; j-- {
						if s := over[j]; fits(min(s.start, e.t), max(s.last, e.t)) {
							target = s
							break
						}
					}
				}
			}
			if target == nil {
				if e.t+gap+L <= judge {
					late = append(late, w.Name)
					continue
				}
				target = &mSession{start: e.t, last: e.t}
				list = append(list, target)
			}
			target.start, target.last = min(target.start, e.t), max(target.last, e.t)
			target.evs = append(target.evs, p)
			var keep []*mSession
			for _, s := range list {
				if !s.dead {
					keep = append(keep, s)
				}
			}
			sort.SliceStable(keep, func(a, b int) bool { return keep[a].start < keep[b].start })
			sessions[wi][e.key] = keep
		}
		if len(late) > 0 {
			res.late[e.id] = strings.Join(late, ",")
		}
	}
	for wi, byKey := range sessions {
		w := &cfg.Windows[wi]
		for k, list := range byKey {
			for _, s := range list {
				windows[w.Name+"|"+(&Emission{Key: k, Start: s.start, End: s.last + int64(w.Gap)}).ID()] = s.evs
			}
		}
	}
	for id, evs := range windows {
		res.bodies[id] = bruteAggs(evs)
	}
	res.windows = windows
	return res
}

// runBatches feeds evs to a fresh engine in random batches, each holding one
// input ack as the buffer's WriteBatch does, and checks the acks: every
// batch is acked once, without error, and only after every window its
// counted events are in has been emitted.
func runBatches(t *testing.T, r *rand.Rand, cfg Config, evs []mEvent, graceEnd int, want modelResult) modelResult {
	t.Helper()
	cfg.StartupGrace = 0
	if graceEnd != graceNone {
		cfg.StartupGrace = 1 // wall-clock ns: ends at the Tick(1) below
	}
	e := mustEngine(t, cfg)
	res := modelResult{bodies: map[string]map[string]any{}, late: map[int]string{}}
	emitted := map[string]int{} // window id -> emission index
	lastEnd := map[string]int64{}
	collect := func() {
		for _, g := range e.Drain() {
			for i, em := range g.Emissions {
				id := g.Window + "|" + em.ID()
				if _, dup := res.bodies[id]; dup {
					t.Fatalf("window %s emitted twice", id)
				}
				var body map[string]any
				if err := json.Unmarshal(g.Body(i), &body); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"key", "window_start", "window_end"} {
					delete(body, k)
				}
				res.bodies[id] = body
				emitted[id] = len(emitted)
				if g.Type != "session" {
					if em.End < lastEnd[g.Window] {
						t.Fatalf("window %s emitted after a later window", id)
					}
					lastEnd[g.Window] = em.End
				}
			}
			g.Release(nil)
		}
	}
	type batch struct {
		evs   []int // indexes into evs
		acks  int
		ackAt int // windows emitted when the ack came
		err   error
	}
	var batches []*batch
	now := int64(0)
	for i := 0; i < len(evs); {
		b := &batch{}
		batches = append(batches, b)
		ref := NewAck(func(err error) { b.acks++; b.ackAt = len(emitted); b.err = err })
		for n := 1 + r.Intn(8); n > 0 && i < len(evs); n-- {
			if graceEnd != graceNone && i == graceEnd {
				now = 1
				e.Tick(now)
				collect()
			}
			ev := evs[i]
			inputs := make([]Input, len(cfg.Windows))
			for wi := range inputs {
				n, pg := numVal(ev.v), strVal(ev.page)
				inputs[wi] = Input{Key: []byte(ev.key), Values: []Value{n, n, n, n, n, n, pg, pg}}
			}
			o := e.Add(&Event{Time: ev.t, Partition: ev.part, Ref: ref, Inputs: inputs}, now)
			if len(o.Late) > 0 {
				var ws []string
				for _, l := range o.Late {
					ws = append(ws, l.Window)
				}
				res.late[ev.id] = strings.Join(ws, ",")
			}
			if o.Windowed+len(o.Late) != len(cfg.Windows) {
				t.Fatalf("event %d: %d windowed + %d late of %d windows", i, o.Windowed, len(o.Late), len(cfg.Windows))
			}
			b.evs = append(b.evs, i)
			collect()
			i++
		}
		ref.Release(nil) // the writer's hold, released once the batch is in
	}
	e.Flush()
	collect()
	if e.Open() != 0 {
		t.Fatalf("%d states open after flush", e.Open())
	}
	// An input is acked only once every window its events count in (by
	// the model) has been emitted and released.
	in := map[int][]string{}
	for id, list := range want.windows {
		for _, p := range list {
			in[int(p.seq)-1] = append(in[int(p.seq)-1], id)
		}
	}
	for _, b := range batches {
		if b.acks != 1 || b.err != nil {
			t.Fatalf("batch acked %d times (err %v), want once without error", b.acks, b.err)
		}
		for _, i := range b.evs {
			for _, id := range in[i] {
				if at, ok := emitted[id]; !ok || at >= b.ackAt {
					t.Fatalf("batch of event %d acked before its window %s was emitted", i, id)
				}
			}
		}
	}
	return res
}

// modelConfig draws the window definitions of one run.
func modelConfig(r *rand.Rand) Config {
	q := 250 * time.Millisecond
	tumbling := func(name string) WindowSpec {
		return WindowSpec{Name: name, Kind: Tumbling, Size: dur(float64(1 + r.Intn(10))), Offset: time.Duration(r.Intn(20)) * q}
	}
	hopping := func(name string) WindowSpec {
		size := dur(float64(2 + r.Intn(10)))
		slide := size / time.Duration(1+r.Intn(4))
		slide -= slide % time.Millisecond
		return WindowSpec{Name: name, Kind: Hopping, Size: size, Slide: slide, Offset: time.Duration(r.Intn(20)) * q}
	}
	session := func(name string) WindowSpec {
		w := WindowSpec{Name: name, Kind: Session, Gap: dur(float64(1 + r.Intn(8)))}
		if r.Intn(3) == 0 {
			w.MaxLength = w.Gap * time.Duration(1+r.Intn(4))
		}
		return w
	}
	var ws []WindowSpec
	switch r.Intn(4) {
	case 0:
		ws = []WindowSpec{tumbling("t")}
	case 1:
		ws = []WindowSpec{hopping("h")}
	case 2:
		ws = []WindowSpec{session("s")}
	default:
		ws = []WindowSpec{tumbling("t"), hopping("h"), session("s")}
	}
	for i := range ws {
		ws[i].KeyName, ws[i].Aggs = "key", propAggs
	}
	return Config{AllowedLateness: dur(float64(r.Intn(5))), Windows: ws}
}

// compareModel reports the first difference between two results.
func compareModel(t *testing.T, what string, got, want modelResult) {
	t.Helper()
	if !reflect.DeepEqual(got.late, want.late) {
		for id, w := range want.late {
			if got.late[id] != w {
				t.Fatalf("%s: event %d late for %q, want %q", what, id, got.late[id], w)
			}
		}
		for id, g := range got.late {
			if want.late[id] != g {
				t.Fatalf("%s: event %d late for %q, want %q", what, id, g, want.late[id])
			}
		}
	}
	for id, w := range want.bodies {
		g, ok := got.bodies[id]
		if !ok {
			t.Fatalf("%s: window %s missing (%d windows, want %d)", what, id, len(got.bodies), len(want.bodies))
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: window %s\n got %v\nwant %v", what, id, g, w)
		}
	}
	for id := range got.bodies {
		if _, ok := want.bodies[id]; !ok {
			t.Fatalf("%s: unexpected window %s", what, id)
		}
	}
}

func TestPropertyEngineMatchesModelOverBatchesInterleavingsAndGrace(t *testing.T) {
	for seed := int64(1); seed <= 150; seed++ {
		r := rand.New(rand.NewSource(seed))
		cfg := modelConfig(r)
		affine := r.Intn(2) == 0
		parts := genPartitions(r, affine)
		evs := interleave(r, parts)
		seen := allSeen(evs, len(parts))
		graceAt := seen + r.Intn(len(evs)-seen+1)
		results := map[int]modelResult{}
		for _, g := range []int{graceNone, 1 + r.Intn(len(evs)), graceAt, len(evs)} {
			want := model(cfg, evs, g)
			got := runBatches(t, r, cfg, evs, g, want)
			compareModel(t, fmt.Sprintf("seed %d (%v) grace end %d of %d", seed, cfg.Windows[0].Kind, g, len(evs)), got, want)
			results[g] = got
		}
		// The grace invariant: once every partition has delivered, where the
		// grace ends changes neither results nor late events.
		compareModel(t, fmt.Sprintf("seed %d: grace ending before event %d vs held", seed, graceAt), results[graceAt], results[len(evs)])
		if affine {
			// With each key in one partition, how partitions interleave
			// does not matter either while the grace holds.
			other := interleave(r, parts)
			got := runBatches(t, r, cfg, other, len(other), model(cfg, other, len(other)))
			compareModel(t, fmt.Sprintf("seed %d: another interleaving", seed), got, results[len(evs)])
		}
	}
}
