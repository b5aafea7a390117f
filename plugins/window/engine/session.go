package engine

import (
	"container/heap"
	"math"
	"sort"
)

// session is one open session of a key: [start, last+gap).
type session struct {
	key         string
	start, last int64
	st          *state
	slots       []*slot // ack buckets this session's events landed in
	dead        bool    // merged away or closed; its heap entry is stale
}

func (s *session) end(gap int64) int64 { return s.last + gap }

// slot is the ack bucket for one gap-long stretch of event time. Sessions
// hold slots rather than inputs, so a session costs one pointer per gap of
// activity instead of one per input batch.
type slot struct {
	idx     int64
	ack     *Ack
	lastRef *Ack
	holders int // open sessions referencing the slot (engine goroutine only)
}

type closeEntry struct {
	closeAt int64
	s       *session
}

type closeHeap []closeEntry

func (h closeHeap) Len() int           { return len(h) }
func (h closeHeap) Less(i, j int) bool { return h[i].closeAt < h[j].closeAt }
func (h closeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *closeHeap) Push(x any)        { *h = append(*h, x.(closeEntry)) }
func (h *closeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// sessionOp implements per-key session windows. Extending a session does
// not touch the close heap: entries are re-checked when they surface (lazy
// deletion), so the common "event extends its session" path is O(1).
type sessionOp struct {
	spec                  *WindowSpec
	gap, maxLen, lateness int64
	keys                  map[string][]*session // sorted by start
	heap                  closeHeap
	slots                 map[int64]*slot
	nopen                 int
	accums                int // per state: accumsFor(spec.Aggs)
}

func newSessionOp(w *WindowSpec, lateness int64) *sessionOp {
	return &sessionOp{
		spec: w, gap: int64(w.Gap), maxLen: int64(w.MaxLength), lateness: lateness,
		keys: map[string][]*session{}, slots: map[int64]*slot{},
		accums: accumsFor(w.Aggs),
	}
}

func (o *sessionOp) open() int { return o.nopen }

func (o *sessionOp) fits(start, last int64) bool {
	return o.maxLen == 0 || last+o.gap-start <= o.maxLen
}

func (o *sessionOp) add(in *Input, t, seq int64, ref *Ack, wm int64) (bool, int64, int64) {
	list := o.keys[string(in.Key)]
	// Sessions whose [start, last+gap) overlaps the event's [t, t+gap) and
	// that are still open for this event: end + lateness > wm. A session
	// the event's watermark has closed may still be in memory because the
	// stage watermark lags (held by the startup grace or by a slower
	// partition); joining it would make the event count or not depending on
	// where the grace ended. Excluded, it is exactly the session a run
	// without the grace has already emitted (see the lateness rule in
	// the buffer's description, plugins/window/buffer_window_spec.go).
	var buf [4]int
	over := buf[:0]
	for i, s := range list {
		if s.start < t+o.gap && t < s.end(o.gap) && (wm == NoWatermark || s.end(o.gap)+o.lateness > wm) {
			over = append(over, i)
		}
	}
	var target *session
	stored := len(list) == 1 // list is the map's value as it stands
	if len(over) > 0 {
		start, last := min(list[over[0]].start, t), t
		for _, i := range over {
			start, last = min(start, list[i].start), max(last, list[i].last)
		}
		if o.fits(start, last) {
			// The event bridges every overlapping session into one.
			target = list[over[0]]
			for _, i := range over[1:] {
				o.mergeInto(target, list[i])
			}
		} else {
			// Merging would exceed max_length: join the latest session the
			// event still fits in, if any, without bridging.
			for j := len(over) - 1; j >= 0; j-- {
				s := list[over[j]]
				if o.fits(min(s.start, t), max(s.last, t)) {
					target = s
					break
				}
			}
		}
	}
	if target == nil {
		// A session of its own, [t, t+gap): late if that has closed. (A
		// session the event joins is open, and joining only extends it.)
		if wm != NoWatermark && t+o.gap+o.lateness <= wm {
			return true, t, t + o.gap
		}
		target = &session{key: string(in.Key), start: t, last: t, st: newState(o.accums)}
		list = append(list, target)
		stored = false
		o.nopen++
		heap.Push(&o.heap, closeEntry{closeAt: t + o.gap + o.lateness, s: target})
	}
	target.start, target.last = min(target.start, t), max(target.last, t)
	target.st.update(o.spec.Aggs, in.Values, t, seq)
	o.holdSlot(target, t, ref)
	if stored && list[0] == target {
		// The key's only session, extended: the list stands as it is (the
		// common case; rewriting it would cost a map write per event).
		return false, 0, 0
	}

	// Drop merged sessions and keep the list ordered by start.
	live := list[:0]
	for _, s := range list {
		if !s.dead {
			live = append(live, s)
		}
	}
	// Insertion sort: lists are tiny and almost always already ordered.
	for i := 1; i < len(live); i++ {
		for j := i; j > 0 && live[j].start < live[j-1].start; j-- {
			live[j], live[j-1] = live[j-1], live[j]
		}
	}
	o.keys[target.key] = live
	return false, 0, 0
}

func (o *sessionOp) mergeInto(dst, src *session) {
	dst.start, dst.last = min(dst.start, src.start), max(dst.last, src.last)
	dst.st.merge(o.spec.Aggs, src.st)
	// Slot holds move with the state; duplicates are fine because each list
	// entry is one counted hold.
	dst.slots = append(dst.slots, src.slots...)
	src.slots = nil
	src.dead = true
	o.nopen--
}

func (o *sessionOp) holdSlot(s *session, t int64, ref *Ack) {
	idx := floorDiv(t, o.gap)
	sl := o.slots[idx]
	if sl == nil {
		sl = &slot{idx: idx, ack: NewAck(nil)}
		o.slots[idx] = sl
	}
	if ref != nil && sl.lastRef != ref {
		sl.ack.Adopt(ref)
		sl.lastRef = ref
	}
	if n := len(s.slots); n == 0 || s.slots[n-1] != sl {
		s.slots = append(s.slots, sl)
		sl.holders++
	}
}

func (o *sessionOp) advance(wm int64, out []*Group) []*Group {
	if wm == NoWatermark {
		return out
	}
	all := wm == math.MaxInt64
	var closed []*session
	for len(o.heap) > 0 && (all || o.heap[0].closeAt <= wm) {
		e := heap.Pop(&o.heap).(closeEntry)
		s := e.s
		if s.dead {
			continue
		}
		if cur := s.end(o.gap) + o.lateness; !all && cur > wm {
			heap.Push(&o.heap, closeEntry{closeAt: cur, s: s})
			continue
		}
		s.dead = true
		closed = append(closed, s)
	}
	if len(closed) == 0 {
		return out
	}
	sortSessions(closed, o.gap)
	g := &Group{Window: o.spec.Name, Type: o.spec.Kind.String(), Final: true, spec: o.spec}
	for _, s := range closed {
		// Removed below: its state is rendered when read.
		g.Emissions = append(g.Emissions, o.emission(s, true))
		for _, sl := range s.slots {
			g.hold(sl.ack)
			o.unholdSlot(sl, nil)
		}
		s.slots = nil
		o.removeSession(s)
	}
	return append(out, g)
}

func (o *sessionOp) unholdSlot(sl *slot, err error) {
	sl.holders--
	if sl.holders == 0 {
		if o.slots[sl.idx] == sl {
			delete(o.slots, sl.idx)
		}
		sl.ack.Release(err)
	}
}

func (o *sessionOp) removeSession(s *session) {
	list := o.keys[s.key]
	for i, x := range list {
		if x == s {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(o.keys, s.key)
	} else {
		o.keys[s.key] = list
	}
	o.nopen--
}

// emission is session s's result; lazy (for sessions that are closed and
// gone) leaves its body to Group.body.
func (o *sessionOp) emission(s *session, lazy bool) Emission {
	end := s.end(o.gap)
	e := Emission{Key: s.key, Start: s.start, End: end, Events: s.st.events}
	if lazy {
		e.st = s.st
	} else {
		e.Body = renderBody(o.spec, s.key, FormatTime(s.start), FormatTime(end), s.st)
	}
	return e
}

// sortSessions orders emissions by end, start, key: deterministic output.
func sortSessions(ss []*session, gap int64) {
	sort.Slice(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.end(gap) != b.end(gap) {
			return a.end(gap) < b.end(gap)
		}
		if a.start != b.start {
			return a.start < b.start
		}
		return a.key < b.key
	})
}

func (o *sessionOp) updates(out []*Group) []*Group {
	var changed []*session
	for _, list := range o.keys {
		for _, s := range list {
			if s.st.dirty {
				changed = append(changed, s)
				s.st.dirty = false
			}
		}
	}
	if len(changed) == 0 {
		return out
	}
	sortSessions(changed, o.gap)
	g := &Group{Window: o.spec.Name, Type: o.spec.Kind.String(), spec: o.spec}
	for _, s := range changed {
		g.Emissions = append(g.Emissions, o.emission(s, false))
	}
	return append(out, g)
}

func (o *sessionOp) abort(err error) {
	for _, sl := range o.slots {
		sl.ack.Release(err)
	}
	o.slots = map[int64]*slot{}
	o.keys = map[string][]*session{}
	o.heap = nil
	o.nopen = 0
}
