package engine

import (
	"math"
	"sort"
	"strconv"
)

// AggKind names an aggregate function.
type AggKind uint8

// Aggregate kinds. Every kind keeps O(1) state per (window, key) except the
// bounded ones (count_distinct, collect, count_by) whose state is capped by
// AggSpec.Limit.
const (
	AggCount AggKind = iota
	AggSum
	AggMin
	AggMax
	AggAvg
	AggFirst
	AggLast
	AggCountDistinct
	AggCollect
	AggCountBy
)

var aggNames = map[string]AggKind{
	"count": AggCount, "sum": AggSum, "min": AggMin, "max": AggMax, "avg": AggAvg,
	"first": AggFirst, "last": AggLast, "count_distinct": AggCountDistinct,
	"collect": AggCollect, "count_by": AggCountBy,
}

// ParseAggKind maps a config name to its kind.
func ParseAggKind(s string) (AggKind, bool) {
	k, ok := aggNames[s]
	return k, ok
}

// Default limits for the bounded aggregates; they keep one hot key from
// exhausting memory while staying exact for realistic cardinalities.
const (
	DefaultDistinctLimit = 10000
	DefaultCollectLimit  = 100
	DefaultCountByLimit  = 1000
)

// OtherBucket is the count_by entry that absorbs values beyond the limit.
const OtherBucket = "__other__"

// AggSpec configures one named aggregate of a window.
type AggSpec struct {
	Name string
	Kind AggKind
	// HasInput is false for a count without a field/mapping: it counts events
	// rather than present values.
	HasInput bool
	Limit    int
}

// Value is one aggregate input extracted from an event. The byte slices may
// alias scratch memory of the caller; the engine copies what it keeps.
type Value struct {
	Present bool // false for missing, null or deleted values: ignored
	IsNum   bool
	Num     float64
	Str     []byte // string content for JSON strings, JSON text otherwise
	JSON    []byte // JSON encoding of the value
}

type item struct {
	t, seq int64
	raw    string
}

// accum is the incremental state of one aggregate. One struct for every kind
// avoids an interface allocation per (window, key, aggregate).
type accum struct {
	n      int64
	f      float64
	t, seq int64
	raw    string
	set    *smallCounts // count_distinct: the values (counts unused)
	counts *smallCounts // count_by
	list   []item
	over   bool
}

// before orders events by event time, then arrival, so first/last/collect are
// deterministic under any disorder.
func before(t1, s1, t2, s2 int64) bool { return t1 < t2 || (t1 == t2 && s1 < s2) }

func (a *accum) update(spec *AggSpec, v *Value, t, seq int64) {
	if spec.Kind == AggCount && !spec.HasInput {
		a.n++
		return
	}
	if !v.Present {
		return
	}
	switch spec.Kind {
	case AggCount:
		a.n++
	case AggSum, AggAvg:
		if v.IsNum {
			a.f += v.Num
			a.n++
		}
	case AggMin:
		if v.IsNum && (a.n == 0 || v.Num < a.f) {
			a.f = v.Num
		}
		if v.IsNum {
			a.n++
		}
	case AggMax:
		if v.IsNum && (a.n == 0 || v.Num > a.f) {
			a.f = v.Num
		}
		if v.IsNum {
			a.n++
		}
	case AggFirst:
		if a.n == 0 || before(t, seq, a.t, a.seq) {
			a.t, a.seq, a.raw = t, seq, string(v.JSON)
		}
		a.n++
	case AggLast:
		if a.n == 0 || before(a.t, a.seq, t, seq) {
			a.t, a.seq, a.raw = t, seq, string(v.JSON)
		}
		a.n++
	case AggCountDistinct:
		// Values are compared by what they are, not by their JSON
		// spelling (canon.go); the scratch keeps numbers off the heap.
		var scratch [48]byte
		k := DistinctKey(scratch[:0], v)
		if !a.set.incIfPresent(k, 0) {
			if a.set.len() < spec.Limit {
				addTo(&a.set, string(k), 0)
			} else {
				a.over = true
			}
		}
	case AggCollect:
		// A full list only takes events earlier than its last item; check
		// that before copying the value, so a hot key over its limit
		// costs no allocation per event. (insertItem repeats the check.)
		if n := len(a.list); n >= spec.Limit && !before(t, seq, a.list[n-1].t, a.list[n-1].seq) {
			a.over = true
			return
		}
		a.insertItem(spec.Limit, item{t: t, seq: seq, raw: string(v.JSON)})
	case AggCountBy:
		var scratch [48]byte
		k := CountByKey(scratch[:0], v)
		if !a.counts.incIfPresent(k, 1) {
			a.countBy(spec.Limit, string(k), 1)
		}
	}
}

func (a *accum) countBy(limit int, k string, n int64) {
	if a.counts.has(k) || a.counts.len() < limit || k == OtherBucket {
		addTo(&a.counts, k, n)
		return
	}
	addTo(&a.counts, OtherBucket, n)
	a.over = true
}

// insertItem keeps the limit earliest items by (time, arrival); in-order
// streams append, so the common case is O(1).
func (a *accum) insertItem(limit int, it item) {
	n := len(a.list)
	if n >= limit && !before(it.t, it.seq, a.list[n-1].t, a.list[n-1].seq) {
		a.over = true
		return
	}
	i := sort.Search(n, func(i int) bool { return before(it.t, it.seq, a.list[i].t, a.list[i].seq) })
	a.list = append(a.list, item{})
	copy(a.list[i+1:], a.list[i:])
	a.list[i] = it
	if len(a.list) > limit {
		a.list = a.list[:limit]
		a.over = true
	}
}

// merge folds src into a: used to combine panes into a hopping window and to
// merge sessions bridged by an event.
func (a *accum) merge(spec *AggSpec, src *accum) {
	a.over = a.over || src.over
	switch spec.Kind {
	case AggCount:
		a.n += src.n
	case AggSum, AggAvg:
		a.f += src.f
		a.n += src.n
	case AggMin:
		if src.n > 0 && (a.n == 0 || src.f < a.f) {
			a.f = src.f
		}
		a.n += src.n
	case AggMax:
		if src.n > 0 && (a.n == 0 || src.f > a.f) {
			a.f = src.f
		}
		a.n += src.n
	case AggFirst:
		if src.n > 0 && (a.n == 0 || before(src.t, src.seq, a.t, a.seq)) {
			a.t, a.seq, a.raw = src.t, src.seq, src.raw
		}
		a.n += src.n
	case AggLast:
		if src.n > 0 && (a.n == 0 || before(a.t, a.seq, src.t, src.seq)) {
			a.t, a.seq, a.raw = src.t, src.seq, src.raw
		}
		a.n += src.n
	case AggCountDistinct:
		src.set.each(func(k string, _ int64) {
			if !a.set.has(k) {
				if a.set.len() < spec.Limit {
					addTo(&a.set, k, 0)
				} else {
					a.over = true
				}
			}
		})
	case AggCollect:
		for _, it := range src.list {
			a.insertItem(spec.Limit, it)
		}
	case AggCountBy:
		// Sorted so that which values overflow into OtherBucket does not
		// depend on iteration order.
		for _, k := range src.counts.sortedKeys() {
			a.countBy(spec.Limit, k, src.counts.get(k))
		}
	}
}

// AppendNumber appends f as a JSON number (null for NaN and infinities).
func AppendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// appendJSON renders the aggregate result as a JSON value.
func (a *accum) appendJSON(b []byte, spec *AggSpec) []byte {
	switch spec.Kind {
	case AggCount:
		return strconv.AppendInt(b, a.n, 10)
	case AggSum:
		return AppendNumber(b, a.f)
	case AggMin, AggMax:
		if a.n == 0 {
			return append(b, "null"...)
		}
		return AppendNumber(b, a.f)
	case AggAvg:
		if a.n == 0 {
			return append(b, "null"...)
		}
		return AppendNumber(b, a.f/float64(a.n))
	case AggFirst, AggLast:
		if a.n == 0 {
			return append(b, "null"...)
		}
		return append(b, a.raw...)
	case AggCountDistinct:
		return strconv.AppendInt(b, int64(a.set.len()), 10)
	case AggCollect:
		b = append(b, '[')
		for i, it := range a.list {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, it.raw...)
		}
		return append(b, ']')
	case AggCountBy:
		b = append(b, '{')
		for i, k := range a.counts.sortedKeys() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = strconv.AppendInt(b, a.counts.get(k), 10)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// state is the aggregate state of one (window or pane or session, key).
type state struct {
	events int64
	accs   []accum
	dirty  bool // changed since the last `updates` emission
}

// stateN holds a state and its accumulators in one allocation.
type (
	state1 struct {
		s state
		a [1]accum
	}
	state2 struct {
		s state
		a [2]accum
	}
	state3 struct {
		s state
		a [3]accum
	}
	state4 struct {
		s state
		a [4]accum
	}
)

// accumsFor is the number of accumulators a state of specs needs: none when
// every aggregate is a plain count, which is the state's event count (a
// count-only state is then 48 bytes instead of 144, for every open key).
func accumsFor(specs []AggSpec) int {
	for i := range specs {
		if specs[i].Kind != AggCount || specs[i].HasInput {
			return len(specs)
		}
	}
	return 0
}

func newState(n int) *state {
	// With sparse keys a state is created for almost every event: allocate
	// it together with its accumulators (one object instead of two; the
	// accs slice points into it, keeping it alive).
	switch n {
	case 1:
		x := new(state1)
		x.s.accs = x.a[:]
		return &x.s
	case 2:
		x := new(state2)
		x.s.accs = x.a[:]
		return &x.s
	case 3:
		x := new(state3)
		x.s.accs = x.a[:]
		return &x.s
	case 4:
		x := new(state4)
		x.s.accs = x.a[:]
		return &x.s
	}
	s := &state{}
	if n > 0 {
		s.accs = make([]accum, n)
	}
	return s
}

// reset returns s to the zero state of newState, keeping the accumulators'
// storage for reuse.
func (s *state) reset() {
	s.events, s.dirty = 0, false
	for i := range s.accs {
		a := &s.accs[i]
		set, counts, list := a.set, a.counts, a.list
		set.reset()
		counts.reset()
		clear(list) // drop the item strings
		*a = accum{set: set, counts: counts, list: list[:0]}
	}
}

// missingValue stands in for inputs the caller did not supply; never written.
var missingValue Value

func (s *state) update(specs []AggSpec, vals []Value, t, seq int64) {
	s.events++
	s.dirty = true
	if len(s.accs) == 0 {
		return // plain counts only (accumsFor)
	}
	for i := range specs {
		var v *Value
		if i < len(vals) {
			v = &vals[i]
		} else {
			v = &missingValue
		}
		s.accs[i].update(&specs[i], v, t, seq)
	}
}

func (s *state) merge(specs []AggSpec, src *state) {
	s.events += src.events
	s.dirty = s.dirty || src.dirty
	if len(s.accs) == 0 {
		return // plain counts only (accumsFor)
	}
	for i := range specs {
		s.accs[i].merge(&specs[i], &src.accs[i])
	}
}
