package engine

import "math"

// NoWatermark is the watermark before any event was seen.
const NoWatermark = math.MinInt64

type partitionWM struct {
	max      int64 // highest event time seen (the partition's watermark)
	lastSeen int64 // wall clock of its last event, for idle detection
	idle     bool
	seen     bool // slots below the highest index may be unused
}

// watermarks tracks one event-time watermark per input partition and derives
// the stage watermark: the minimum over partitions that are not idle, so one
// slow partition holds windows open rather than having its events declared
// late. The stage watermark never goes backwards.
//
// The buffer cannot know which partitions are assigned until they deliver,
// and after a (re)start with a backlog the first partition to deliver would
// otherwise move the stage watermark alone and close windows that the other
// partitions' older backlog still belongs to. So the stage watermark is held
// for `grace` of wall-clock time after the first event: partitions that have
// not delivered yet are treated like partitions that might still deliver old
// events, and every partition whose fetch starts with the others registers
// before anything closes.
type watermarks struct {
	parts       []partitionWM
	rawMin      int64 // min over active partitions at the last recompute
	stage       int64
	idleTimeout int64 // 0: partitions never go idle (output is a pure function of input)
	grace       int64 // startup grace; 0: off
	graceEnd    int64 // wall clock at which the grace ends; valid once started
	started     bool  // an event was seen (graceEnd is set)
	holding     bool  // the grace is running: the stage watermark is held
}

func newWatermarks(idleTimeout, grace int64) *watermarks {
	return &watermarks{rawMin: NoWatermark, stage: NoWatermark, idleTimeout: idleTimeout, grace: grace, holding: grace > 0}
}

// part is partition p's own watermark (NoWatermark if it never delivered).
func (w *watermarks) part(p int) int64 {
	if p < len(w.parts) {
		return w.parts[p].max
	}
	return NoWatermark
}

// observe records an event and reports whether the stage watermark advanced.
func (w *watermarks) observe(p int, t, now int64) bool {
	for p >= len(w.parts) {
		w.parts = append(w.parts, partitionWM{max: NoWatermark})
	}
	pt := &w.parts[p]
	fresh := !pt.seen
	pt.seen = true
	pt.lastSeen = now
	wasIdle := pt.idle
	pt.idle = false
	if !w.started {
		w.started = true
		w.graceEnd = now + w.grace
	}
	if w.holding {
		pt.max = max(pt.max, t)
		if now < w.graceEnd {
			return false
		}
		w.holding = false
		return w.recompute(now)
	}
	if t <= pt.max && !wasIdle && !fresh {
		return false
	}
	old := pt.max
	if t > pt.max {
		pt.max = t
	}
	// Only the partition holding the minimum (or one whose status changed)
	// can move the minimum, so in-order round-robin streams recompute once
	// per partition cycle, not per event.
	if fresh || wasIdle || old <= w.rawMin {
		return w.recompute(now)
	}
	return false
}

// tick ends the startup grace, marks partitions idle by wall clock and lets
// idle ones follow it.
func (w *watermarks) tick(now int64) bool {
	if w.holding {
		if !w.started || now < w.graceEnd {
			return false
		}
		w.holding = false
		if w.idleTimeout <= 0 {
			return w.recompute(now)
		}
	}
	if w.idleTimeout <= 0 || len(w.parts) == 0 {
		return false
	}
	for i := range w.parts {
		if w.parts[i].seen && !w.parts[i].idle && now-w.parts[i].lastSeen >= w.idleTimeout {
			w.parts[i].idle = true
		}
	}
	return w.recompute(now)
}

func (w *watermarks) recompute(now int64) bool {
	minActive, minIdle := int64(math.MaxInt64), int64(math.MaxInt64)
	active := false
	for i := range w.parts {
		pt := &w.parts[i]
		if !pt.seen {
			continue
		}
		if pt.idle {
			// An idle partition's watermark advances with the wall clock.
			v := max(pt.max, now)
			minIdle = min(minIdle, v)
			continue
		}
		active = true
		minActive = min(minActive, pt.max)
	}
	raw := minIdle
	if active {
		raw = minActive
	}
	w.rawMin = raw
	if raw > w.stage {
		w.stage = raw
		return true
	}
	return false
}

// raise moves partition 0 and the stage watermark up to wm, for an engine
// that serves a single source partition (see Engine.Resume): reports
// whether the stage watermark moved.
func (w *watermarks) raise(wm int64) bool {
	if len(w.parts) == 0 {
		w.parts = append(w.parts, partitionWM{max: NoWatermark})
	}
	pt := &w.parts[0]
	pt.seen = true
	pt.max = max(pt.max, wm)
	w.started, w.holding = true, false
	if wm <= w.stage {
		return false
	}
	w.stage, w.rawMin = wm, wm
	return true
}
