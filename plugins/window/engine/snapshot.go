package engine

import (
	"bytes"
	"container/heap"
	"encoding/gob"
	"fmt"
	"maps"
	"slices"
)

// A Snapshot is an engine's open windows and watermarks at one moment,
// without the input holds: what a new owner of the partition needs, with a
// replay of the events after that moment, to compute every window exactly
// as this engine does. Events added to the windows later but belonging
// before that moment (retried events whose originals came before it) are
// recorded with Amend and applied on Restore.
//
// The encoding is gob of the structs below, versioned: a snapshot written
// by another version is refused (the caller replays instead).
type Snapshot struct {
	s snapshotV1
}

const snapshotVersion = 1

type snapshotV1 struct {
	Version int
	Windows []string // the window names, in Config order: a config change is detected
	Seq     int64
	WM      snapWatermarks
	Ops     []snapOp
	Amends  []snapAmend
}

type snapWatermarks struct {
	Parts                   []snapPartWM
	RawMin, Stage, GraceEnd int64
	Started, Holding        bool
}

type snapPartWM struct {
	Max, LastSeen int64
	Idle, Seen    bool
}

type snapOp struct {
	Panes      []snapPane // tumbling, hopping
	NextWin    int64
	NextWinSet bool
	Sessions   []snapSession // session windows
}

type snapPane struct {
	Start int64
	Keys  []snapKeyed
	Later []snapLater
}

type snapLater struct {
	From int64
	Keys []snapKeyed
}

type snapKeyed struct {
	Key   string
	State snapState
}

type snapSession struct {
	Key         string
	Start, Last int64
	State       snapState
}

type snapState struct {
	Events int64
	Accs   []snapAccum
}

type snapAccum struct {
	N           int64
	F           float64
	T, Seq      int64
	Raw         string
	Set, Counts []snapCount
	List        []snapItem
	Over        bool
}

type snapCount struct {
	K string
	N int64
}

type snapItem struct {
	T, Seq int64
	Raw    string
}

type snapAmend struct {
	Time, Judge, Seq int64
	Inputs           []Input
}

// Snapshot captures the engine's open windows and watermarks. Windows held
// open by Hold are captured open. Cost: a copy of every open state.
func (e *Engine) Snapshot() *Snapshot {
	s := snapshotV1{Version: snapshotVersion, Seq: e.seq}
	for i := range e.cfg.Windows {
		s.Windows = append(s.Windows, e.cfg.Windows[i].Name)
	}
	w := e.wm
	s.WM = snapWatermarks{RawMin: w.rawMin, Stage: w.stage, GraceEnd: w.graceEnd, Started: w.started, Holding: w.holding}
	for _, p := range w.parts {
		s.WM.Parts = append(s.WM.Parts, snapPartWM{Max: p.max, LastSeen: p.lastSeen, Idle: p.idle, Seen: p.seen})
	}
	for _, op := range e.ops {
		switch o := op.(type) {
		case *paneOp:
			so := snapOp{NextWin: o.nextWin, NextWinSet: o.nextWinSet}
			for _, start := range o.order {
				p := o.panes[start]
				sp := snapPane{Start: start, Keys: snapKeys(p.keys)}
				for _, l := range p.later {
					sp.Later = append(sp.Later, snapLater{From: l.from, Keys: snapKeys(l.keys)})
				}
				so.Panes = append(so.Panes, sp)
			}
			s.Ops = append(s.Ops, so)
		case *sessionOp:
			var so snapOp
			for _, k := range slices.Sorted(maps.Keys(o.keys)) {
				for _, ss := range o.keys[k] {
					so.Sessions = append(so.Sessions, snapSession{Key: ss.key, Start: ss.start, Last: ss.last, State: snapOf(ss.st)})
				}
			}
			s.Ops = append(s.Ops, so)
		}
	}
	return &Snapshot{s: s}
}

func snapKeys(m map[string]*state) []snapKeyed {
	out := make([]snapKeyed, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, snapKeyed{Key: k, State: snapOf(m[k])})
	}
	return out
}

func snapOf(st *state) snapState {
	ss := snapState{Events: st.events}
	for i := range st.accs {
		a := &st.accs[i]
		sa := snapAccum{N: a.n, F: a.f, T: a.t, Seq: a.seq, Raw: a.raw, Over: a.over,
			Set: snapCounts(a.set), Counts: snapCounts(a.counts)}
		for _, it := range a.list {
			sa.List = append(sa.List, snapItem{T: it.t, Seq: it.seq, Raw: it.raw})
		}
		ss.Accs = append(ss.Accs, sa)
	}
	return ss
}

func snapCounts(c *smallCounts) []snapCount {
	if c.len() == 0 {
		return nil
	}
	out := make([]snapCount, 0, c.len())
	for _, k := range c.sortedKeys() {
		out = append(out, snapCount{K: k, N: c.get(k)})
	}
	return out
}

// Amend records an event added to the engine after the snapshot although
// it belongs before it (a retried event whose original the snapshot's
// offset is past), judged against judge, with the arrival number seq the
// engine gave it (Outcome.Seq): Restore adds it the same way, and the
// events replayed after the restore get the numbers they had here.
func (s *Snapshot) Amend(ev *Event, judge, seq int64) {
	a := snapAmend{Time: ev.Time, Judge: judge, Seq: seq, Inputs: make([]Input, len(ev.Inputs))}
	for i, in := range ev.Inputs {
		c := Input{Skip: in.Skip, Key: bytes.Clone(in.Key), Values: make([]Value, len(in.Values))}
		for j, v := range in.Values {
			c.Values[j] = Value{Present: v.Present, IsNum: v.IsNum, Num: v.Num, Str: bytes.Clone(v.Str), JSON: bytes.Clone(v.JSON)}
		}
		a.Inputs[i] = c
	}
	s.s.Amends = append(s.s.Amends, a)
}

// Encode renders the snapshot.
func (s *Snapshot) Encode() ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&s.s); err != nil {
		return nil, fmt.Errorf("encoding a window snapshot: %w", err)
	}
	return b.Bytes(), nil
}

// Restore loads an encoded snapshot into an engine that has seen no event,
// then adds its amendments. The engine's configuration must define the same
// windows, in the same order, as the one that took the snapshot.
func (e *Engine) Restore(data []byte) error {
	var s snapshotV1
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		return fmt.Errorf("decoding a window snapshot: %w", err)
	}
	if s.Version != snapshotVersion {
		return fmt.Errorf("window snapshot version %d: this build reads version %d", s.Version, snapshotVersion)
	}
	var names []string
	for i := range e.cfg.Windows {
		names = append(names, e.cfg.Windows[i].Name)
	}
	if !slices.Equal(names, s.Windows) || len(s.Ops) != len(e.ops) {
		return fmt.Errorf("window snapshot of windows %v: this job defines %v", s.Windows, names)
	}
	if e.seq != 0 || e.Open() != 0 {
		return fmt.Errorf("window snapshot restored into an engine that has state")
	}
	e.seq = s.Seq
	w := e.wm
	w.rawMin, w.stage, w.graceEnd, w.started, w.holding = s.WM.RawMin, s.WM.Stage, s.WM.GraceEnd, s.WM.Started, s.WM.Holding
	w.parts = w.parts[:0]
	for _, p := range s.WM.Parts {
		w.parts = append(w.parts, partitionWM{max: p.Max, lastSeen: p.LastSeen, idle: p.Idle, seen: p.Seen})
	}
	for i, op := range e.ops {
		so := &s.Ops[i]
		switch o := op.(type) {
		case *paneOp:
			o.nextWin, o.nextWinSet = so.NextWin, so.NextWinSet
			for _, sp := range so.Panes {
				p := &pane{start: sp.Start, keys: o.restoreKeys(sp.Keys), ack: NewAck(nil)}
				for _, l := range sp.Later {
					p.later = append(p.later, laterStates{from: l.From, keys: o.restoreKeys(l.Keys)})
				}
				o.panes[sp.Start] = p
				o.insertOrder(sp.Start)
			}
		case *sessionOp:
			for _, ss := range so.Sessions {
				x := &session{key: ss.Key, start: ss.Start, last: ss.Last, st: restoreState(o.accums, &ss.State)}
				o.keys[ss.Key] = append(o.keys[ss.Key], x)
				o.nopen++
				heap.Push(&o.heap, closeEntry{closeAt: x.end(o.gap) + o.lateness, s: x})
			}
		}
	}
	e.reserved = e.reserved[:0]
	for i := range s.Amends {
		a := &s.Amends[i]
		e.addSeq(&Event{Time: a.Time, Inputs: a.Inputs}, a.Judge, a.Seq)
		if a.Seq > e.seq {
			e.reserved = append(e.reserved, a.Seq)
		}
	}
	slices.Sort(e.reserved)
	return nil
}

// nextSeq is the next arrival number, skipping those a restored snapshot's
// amendments took.
func (e *Engine) nextSeq() int64 {
	n := e.seq + 1
	for len(e.reserved) > 0 && e.reserved[0] <= n {
		if e.reserved[0] == n {
			n++
		}
		e.reserved = e.reserved[1:]
	}
	return n
}

func (o *paneOp) restoreKeys(ks []snapKeyed) map[string]*state {
	m := make(map[string]*state, len(ks))
	for i := range ks {
		m[ks[i].Key] = restoreState(o.accums, &ks[i].State)
		o.nopen++
	}
	return m
}

func restoreState(n int, ss *snapState) *state {
	st := newState(n)
	st.events = ss.Events
	for i := range min(len(st.accs), len(ss.Accs)) {
		sa, a := &ss.Accs[i], &st.accs[i]
		a.n, a.f, a.t, a.seq, a.raw, a.over = sa.N, sa.F, sa.T, sa.Seq, sa.Raw, sa.Over
		for _, c := range sa.Set {
			addTo(&a.set, c.K, c.N)
		}
		for _, c := range sa.Counts {
			addTo(&a.counts, c.K, c.N)
		}
		for _, it := range sa.List {
			a.list = append(a.list, item{t: it.T, seq: it.Seq, raw: it.Raw})
		}
	}
	return st
}
