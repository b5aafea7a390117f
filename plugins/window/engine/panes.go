package engine

import (
	"math"
	"slices"
	"sort"
)

// pane is a time slice of a tumbling or hopping window definition. Hopping
// windows are built from panes of gcd(size, slide): an event updates exactly
// one pane (O(1) whatever size/slide are) and a closing window merges its
// size/pane panes once. Tumbling windows are the special case pane = size.
type pane struct {
	start int64
	keys  map[string]*state
	// later holds the states of hopping events that count only in this
	// pane's windows starting at or after `from`: events for which the
	// earlier windows holding them had already closed (end + lateness <=
	// the watermark they are judged against) while the stage watermark,
	// held by the startup grace or a slower partition, had not emitted
	// those windows yet. Empty for tumbling windows and in-order streams.
	later   []laterStates
	ack     *Ack // holds the inputs that landed here; creation hold = "pane alive"
	lastRef *Ack // dedupes consecutive events of one input batch
	dirty   bool
}

// laterStates are a pane's states for windows starting at from or later.
type laterStates struct {
	from int64
	keys map[string]*state
}

type paneOp struct {
	spec                                *WindowSpec
	size, slide, pane, offset, lateness int64
	panes                               map[int64]*pane
	order                               []int64 // pane starts, ascending
	nextWin                             int64   // first window start not yet emitted
	nextWinSet                          bool
	nopen                               int
	accums                              int // per state: accumsFor(spec.Aggs)

	// Scratch for mergeWindow: the merged states only live until render has
	// written their bodies, so the map and the states are reused across
	// windows instead of allocated per key per hopping window.
	merged map[string]*state
	free   []*state
}

func newPaneOp(w *WindowSpec, lateness int64) *paneOp {
	size, slide := int64(w.Size), int64(w.Slide)
	if w.Kind == Tumbling || slide <= 0 {
		slide = size
	}
	return &paneOp{
		spec: w, size: size, slide: slide, pane: gcd(size, slide),
		offset: int64(w.Offset), lateness: lateness, panes: map[int64]*pane{},
		accums: accumsFor(w.Aggs),
	}
}

func (o *paneOp) open() int { return o.nopen }

// firstOpen is the first window start whose window is still open at wm.
func (o *paneOp) firstOpen(wm int64) int64 {
	return alignDown(wm-o.size-o.lateness, o.slide, o.offset) + o.slide
}

// firstContaining is the first window start whose window contains instant t.
func (o *paneOp) firstContaining(t int64) int64 {
	return alignDown(t-o.size, o.slide, o.offset) + o.slide
}

func (o *paneOp) add(in *Input, t, seq int64, ref *Ack, wm int64) (bool, int64, int64) {
	latest := alignDown(t, o.slide, o.offset)
	if wm != NoWatermark && latest+o.size+o.lateness <= wm {
		// Every window holding t has closed. (For hopping windows an event
		// whose earlier windows closed still counts in the open later ones.)
		return true, latest, latest + o.size
	}
	ps := alignDown(t, o.pane, o.offset)
	p := o.panes[ps]
	if p == nil {
		p = &pane{start: ps, keys: map[string]*state{}, ack: NewAck(nil)}
		o.panes[ps] = p
		o.insertOrder(ps)
	}
	if ref != nil && p.lastRef != ref {
		p.ack.Adopt(ref)
		p.lastRef = ref
	}
	keys := p.keys
	if wm != NoWatermark && o.slide != o.size {
		// The event counts only in its windows that are open for it; those
		// before fo have closed for it, and any of them the stage has not
		// emitted yet must leave it out.
		if fo := o.firstOpen(wm); fo > o.firstContaining(t) && (!o.nextWinSet || fo > o.nextWin) {
			keys = p.laterKeys(fo)
		}
	}
	st := keys[string(in.Key)]
	if st == nil {
		st = newState(o.accums)
		keys[string(in.Key)] = st
		o.nopen++
	}
	st.update(o.spec.Aggs, in.Values, t, seq)
	p.dirty = true
	return false, 0, 0
}

// laterKeys returns the pane's states for windows starting at from or later.
func (p *pane) laterKeys(from int64) map[string]*state {
	for _, l := range p.later {
		if l.from == from {
			return l.keys
		}
	}
	l := laterStates{from: from, keys: map[string]*state{}}
	p.later = append(p.later, l)
	return l.keys
}

// statesIn calls fn with every state of p that belongs to window s.
func (p *pane) statesIn(s int64, fn func(k string, st *state)) {
	for k, st := range p.keys {
		fn(k, st)
	}
	for _, l := range p.later {
		if l.from <= s {
			for k, st := range l.keys {
				fn(k, st)
			}
		}
	}
}

func (o *paneOp) insertOrder(ps int64) {
	n := len(o.order)
	if n == 0 || o.order[n-1] < ps {
		o.order = append(o.order, ps)
		return
	}
	i := sort.Search(n, func(i int) bool { return o.order[i] >= ps })
	o.order = append(o.order, 0)
	copy(o.order[i+1:], o.order[i:])
	o.order[i] = ps
}

func (o *paneOp) advance(wm int64, out []*Group) []*Group {
	if wm == NoWatermark {
		return out
	}
	all := wm == math.MaxInt64
	var fo int64
	if !all {
		fo = o.firstOpen(wm)
	}
	for len(o.order) > 0 {
		// Jump straight to the first window holding data: empty stretches of
		// event time cost nothing.
		cand := o.firstContaining(o.order[0])
		if o.nextWinSet && o.nextWin > cand {
			cand = o.nextWin
		}
		if !all && cand >= fo {
			break
		}
		out = append(out, o.emitWindow(cand))
		o.nextWin, o.nextWinSet = cand+o.slide, true
		o.dropBefore(o.nextWin)
	}
	// Remember how far windows are closed even without data, so a pane
	// created later is never emitted into an already-closed window.
	if !all && (!o.nextWinSet || fo > o.nextWin) {
		o.nextWin, o.nextWinSet = fo, true
	}
	return out
}

// windowPanes returns the panes of window [s, s+size), in order.
func (o *paneOp) windowPanes(s int64) []*pane {
	var ps []*pane
	i := sort.Search(len(o.order), func(i int) bool { return o.order[i] >= s })
	for ; i < len(o.order) && o.order[i] < s+o.size; i++ {
		ps = append(ps, o.panes[o.order[i]])
	}
	return ps
}

// mergeWindow combines the panes' states of window s per key; with a single
// pane the pane's own states are returned without copying. The result is
// only valid until the next call (it is scratch memory, see paneOp.merged).
func (o *paneOp) mergeWindow(ps []*pane, s int64) map[string]*state {
	if len(ps) == 1 && len(ps[0].later) == 0 {
		return ps[0].keys
	}
	// The previous result has been rendered: recycle it.
	for _, st := range o.merged {
		st.reset()
		o.free = append(o.free, st)
	}
	if o.merged == nil {
		o.merged = map[string]*state{}
	}
	clear(o.merged)
	m := o.merged
	for _, p := range ps {
		p.statesIn(s, func(k string, st *state) {
			acc := m[k]
			if acc == nil {
				if n := len(o.free); n > 0 {
					acc = o.free[n-1]
					o.free = o.free[:n-1]
				} else {
					acc = newState(o.accums)
				}
				m[k] = acc
			}
			acc.merge(o.spec.Aggs, st)
		})
	}
	return m
}

func (o *paneOp) emitWindow(s int64) *Group {
	ps := o.windowPanes(s)
	g := &Group{Window: o.spec.Name, Type: o.spec.Kind.String(), Final: true, spec: o.spec}
	for _, p := range ps {
		g.hold(p.ack)
	}
	states := o.mergeWindow(ps, s)
	// A tumbling window is its one pane, dropped right after this (advance):
	// no event reaches its states any more, so they are rendered when read.
	// A hopping window's panes stay in later windows, and merged states are
	// scratch: render now.
	g.Emissions = o.render(states, s, nil, o.slide == o.size)
	return g
}

// render makes the emissions of window s for the keys in only (nil: all);
// lazy leaves the bodies to Group.body.
func (o *paneOp) render(states map[string]*state, s int64, only map[string]bool, lazy bool) []Emission {
	keys := make([]string, 0, len(states))
	for k := range states {
		if only == nil || only[k] {
			keys = append(keys, k)
		}
	}
	// Sorted so that replays emit byte-identical streams. (slices.Sort: the
	// same order as sort.Strings without the interface dispatch per compare.)
	slices.Sort(keys)
	em := make([]Emission, len(keys))
	if lazy {
		for i, k := range keys {
			st := states[k]
			em[i] = Emission{Key: k, Start: s, End: s + o.size, Events: st.events, st: st}
		}
		return em
	}
	ss, es := FormatTime(s), FormatTime(s+o.size) // shared by every key
	for i, k := range keys {
		st := states[k]
		em[i] = Emission{
			Key: k, Start: s, End: s + o.size, Events: st.events,
			Body: renderBody(o.spec, k, ss, es, st),
		}
	}
	return em
}

// dropBefore forgets panes that no window from x onwards contains; their
// inputs are acked once every emission holding the pane is acked.
func (o *paneOp) dropBefore(x int64) {
	n := 0
	for n < len(o.order) && o.order[n] < x {
		p := o.panes[o.order[n]]
		delete(o.panes, p.start)
		o.nopen -= len(p.keys)
		for _, l := range p.later {
			o.nopen -= len(l.keys)
		}
		p.ack.Release(nil)
		n++
	}
	if n > 0 {
		o.order = append(o.order[:0], o.order[n:]...)
	}
}

func (o *paneOp) updates(out []*Group) []*Group {
	// Windows (still open) that contain a changed pane.
	starts := map[int64]bool{}
	for _, ps := range o.order {
		p := o.panes[ps]
		if !p.dirty {
			continue
		}
		for s := o.firstContaining(ps); s <= ps; s += o.slide {
			if !o.nextWinSet || s >= o.nextWin {
				starts[s] = true
			}
		}
	}
	ordered := make([]int64, 0, len(starts))
	for s := range starts {
		ordered = append(ordered, s)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i] < ordered[j] })
	for _, s := range ordered {
		ps := o.windowPanes(s)
		only := map[string]bool{}
		for _, p := range ps {
			if p.dirty {
				p.statesIn(s, func(k string, st *state) {
					if st.dirty {
						only[k] = true
					}
				})
			}
		}
		if len(only) == 0 {
			continue
		}
		out = append(out, &Group{
			Window: o.spec.Name, Type: o.spec.Kind.String(), spec: o.spec,
			Emissions: o.render(o.mergeWindow(ps, s), s, only, false),
		})
	}
	for _, p := range o.panes {
		if p.dirty {
			p.dirty = false
			for _, st := range p.keys {
				st.dirty = false
			}
			for _, l := range p.later {
				for _, st := range l.keys {
					st.dirty = false
				}
			}
		}
	}
	return out
}

func (o *paneOp) abort(err error) {
	for _, ps := range o.order {
		o.panes[ps].ack.Release(err)
	}
	o.panes = map[int64]*pane{}
	o.order = nil
	o.nopen = 0
	o.merged, o.free = nil, nil
}
