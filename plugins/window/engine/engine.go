package engine

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Kind is a window type.
type Kind uint8

// Window kinds.
const (
	Tumbling Kind = iota
	Hopping
	Session
)

func (k Kind) String() string {
	switch k {
	case Hopping:
		return "hopping"
	case Session:
		return "session"
	default:
		return "tumbling"
	}
}

// EmitMode selects whether running aggregates are emitted before close.
type EmitMode uint8

// Emit modes.
const (
	EmitFinal EmitMode = iota
	EmitUpdates
)

// WindowSpec is one named window definition.
type WindowSpec struct {
	Name      string
	Kind      Kind
	Size      time.Duration // tumbling, hopping
	Slide     time.Duration // hopping
	Offset    time.Duration // tumbling, hopping: shifts the UTC-epoch alignment
	Gap       time.Duration // session inactivity gap
	MaxLength time.Duration // session: 0 = unbounded
	KeyName   string
	NameField string // "": the body does not name its window
	// Result bounds: the names of the start and end fields of the body,
	// an optional duration field (seconds), and for sessions whether the
	// body reports the window [first event, last event + gap) or the
	// activity [first event, last event]. Metadata and window_id always
	// carry the window.
	StartField, EndField string
	DurationField        string
	ActivityBounds       bool
	Emit                 EmitMode
	EmitInterval         time.Duration
	Aggs                 []AggSpec
}

// Config configures an Engine. Instants (event times, the watermark, the
// wall clock passed to its methods) are unix nanoseconds as int64; lengths
// of time are time.Duration.
type Config struct {
	AllowedLateness time.Duration
	IdleTimeout     time.Duration // 0: off; the output is then a pure function of the input
	MaxFutureSkew   time.Duration // 0: off
	// StartupGrace holds the stage watermark for this long (wall clock)
	// after the first event, so every partition with a backlog registers
	// before windows close. 0: off (no wall-clock dependence at all).
	StartupGrace time.Duration
	Windows      []WindowSpec
}

// Validate reports the first invalid setting, naming the field.
func (c *Config) Validate() error {
	if c.AllowedLateness < 0 {
		return errors.New("allowed_lateness: must not be negative")
	}
	if c.IdleTimeout < 0 {
		return errors.New("idle_timeout: must not be negative")
	}
	if c.MaxFutureSkew < 0 {
		return errors.New("max_future_skew: must not be negative")
	}
	if c.StartupGrace < 0 {
		return errors.New("startup_grace: must not be negative")
	}
	if len(c.Windows) == 0 {
		return errors.New("windows: at least one window is required")
	}
	names := map[string]bool{}
	for i := range c.Windows {
		w := &c.Windows[i]
		at := fmt.Sprintf("windows[%d]", i)
		if w.Name == "" {
			return fmt.Errorf("%s.name: must not be empty", at)
		}
		if names[w.Name] {
			return fmt.Errorf("%s.name: duplicate window name %q", at, w.Name)
		}
		names[w.Name] = true
		switch w.Kind {
		case Tumbling, Hopping:
			if w.Size <= 0 {
				return fmt.Errorf("%s.size: must be greater than zero for %s windows", at, w.Kind)
			}
			if w.Kind == Hopping {
				if w.Slide <= 0 {
					return fmt.Errorf("%s.slide: must be greater than zero for hopping windows", at)
				}
				if w.Slide > w.Size {
					return fmt.Errorf("%s.slide: %v must not exceed size %v", at, int64(w.Slide), int64(w.Size))
				}
			}
		case Session:
			if w.Gap <= 0 {
				return fmt.Errorf("%s.gap: must be greater than zero for session windows", at)
			}
			if w.MaxLength < 0 || (w.MaxLength > 0 && w.MaxLength < w.Gap) {
				return fmt.Errorf("%s.max_length: must be at least gap", at)
			}
		default:
			return fmt.Errorf("%s.type: unknown window type", at)
		}
		if w.Emit == EmitUpdates && w.EmitInterval <= 0 {
			return fmt.Errorf("%s.emit_interval: must be greater than zero when emit is updates", at)
		}
		aggNames := map[string]bool{}
		for j, a := range w.Aggs {
			if a.Name == "" {
				return fmt.Errorf("%s.aggregates[%d].name: must not be empty", at, j)
			}
			if aggNames[a.Name] {
				return fmt.Errorf("%s.aggregates[%d].name: duplicate aggregate %q", at, j, a.Name)
			}
			aggNames[a.Name] = true
			if a.Kind != AggCount && !a.HasInput {
				return fmt.Errorf("%s.aggregates[%d]: a field or mapping is required", at, j)
			}
			switch a.Kind {
			case AggCountDistinct, AggCollect, AggCountBy:
				if a.Limit <= 0 {
					return fmt.Errorf("%s.aggregates[%d].limit: must be greater than zero", at, j)
				}
			}
		}
	}
	return nil
}

// Event is one input event as seen by the engine. Inputs has one entry per
// window definition, in Config.Windows order.
type Event struct {
	Time      int64 // unix ns
	Partition int   // dense partition index (see watermarks)
	Ref       *Ack  // the input's ack node; nil in pure engine tests
	Inputs    []Input
}

// Input is the per-window part of an event.
type Input struct {
	Skip   bool   // the window's check excluded the event
	Key    []byte // may alias caller memory; copied when stored
	Values []Value
}

// LateInfo describes why an event was late for a window.
type LateInfo struct {
	Window     string
	Start, End int64
	LateBy     time.Duration // watermark - (end + allowed_lateness), >= 0
	Watermark  int64         // the watermark the event was judged against (see Add)
}

// Outcome reports what Add did with an event.
type Outcome struct {
	Err      error      // the event was rejected (future skew); nothing was stored
	Windowed int        // window definitions that took the event
	Late     []LateInfo // window definitions for which it arrived too late
	Seq      int64      // the event's arrival number (orders ties in event time)
}

// ErrFutureSkew marks events stamped too far ahead of the wall clock.
var ErrFutureSkew = errors.New("event timestamp is too far in the future")

// operator is one window definition's state machine.
type operator interface {
	// add inserts the event; it returns ok=false with bounds if the event is
	// late for every window it belongs to.
	add(in *Input, t, seq int64, ref *Ack, wm int64) (late bool, start, end int64)
	// advance emits windows whose end + lateness <= wm (math.MaxInt64: all).
	advance(wm int64, out []*Group) []*Group
	// updates emits running aggregates of changed open windows.
	updates(out []*Group) []*Group
	// abort drops all state, releasing its holds with err.
	abort(err error)
	open() int
}

// Engine is the plain-Go window engine. It is not safe for concurrent use;
// the adapter serialises calls. Time is passed in explicitly (now, unix ns)
// so tests control the wall clock.
type Engine struct {
	cfg     Config
	ops     []operator
	wm      *watermarks
	seq     int64
	out     []*Group
	nextUpd []int64 // per window: wall-clock time of the next update emission
	// hold caps how far windows close (math.MaxInt64: no cap) while the
	// watermark itself moves on: events of the partition that are on the
	// retry ladder must find their windows open when they come back.
	hold int64
	// reserved are arrival numbers a restored snapshot's amendments took
	// (snapshot.go): the replay skips them, so every event gets the
	// number it had in the run that took the snapshot.
	reserved []int64
}

// New validates cfg and builds an engine.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, wm: newWatermarks(int64(cfg.IdleTimeout), int64(cfg.StartupGrace)), hold: math.MaxInt64}
	for i := range cfg.Windows {
		w := &e.cfg.Windows[i]
		if w.Kind == Session {
			e.ops = append(e.ops, newSessionOp(w, int64(cfg.AllowedLateness)))
		} else {
			e.ops = append(e.ops, newPaneOp(w, int64(cfg.AllowedLateness)))
		}
	}
	e.nextUpd = make([]int64, len(e.ops))
	return e, nil
}

// Add processes one event at wall-clock time now.
//
// The watermark is advanced by the event before it is inserted. That is
// equivalent to classifying it first (an event can only raise the stage
// watermark up to its own timestamp, and every window it belongs to ends
// after it), and it lets a back-pressured caller close windows with the
// blocked event's time (see Observe) without changing any result.
func (e *Engine) Add(ev *Event, now int64) Outcome {
	if e.cfg.MaxFutureSkew > 0 && ev.Time > now+int64(e.cfg.MaxFutureSkew) {
		return Outcome{Err: fmt.Errorf("%w: %s is more than %v ahead of the wall clock %s",
			ErrFutureSkew, FormatTime(ev.Time), e.cfg.MaxFutureSkew, FormatTime(now))}
	}
	e.Observe(ev, now)
	return e.add(ev, max(e.wm.stage, e.wm.part(ev.Partition)))
}

// AddJudged adds an event that comes back from the retry ladder: it is
// judged late or not against judge, the watermark its partition had when
// the event first arrived, exactly as it would have been had it not failed
// then. Its windows are still open if the partition's closing was held at
// judge meanwhile (Hold).
func (e *Engine) AddJudged(ev *Event, now, judge int64) Outcome {
	if e.cfg.MaxFutureSkew > 0 && ev.Time > now+int64(e.cfg.MaxFutureSkew) {
		return e.Add(ev, now)
	}
	e.Observe(ev, now)
	return e.add(ev, judge)
}

func (e *Engine) add(ev *Event, wm int64) Outcome {
	e.seq = e.nextSeq()
	return e.addSeq(ev, wm, e.seq)
}

func (e *Engine) addSeq(ev *Event, wm, seq int64) Outcome {
	out := Outcome{Seq: seq}
	for i, op := range e.ops {
		if i >= len(ev.Inputs) || ev.Inputs[i].Skip {
			continue
		}
		late, start, end := op.add(&ev.Inputs[i], ev.Time, seq, ev.Ref, wm)
		if late {
			out.Late = append(out.Late, LateInfo{
				Window: e.cfg.Windows[i].Name, Start: start, End: end, Watermark: wm,
				LateBy: time.Duration(max(0, wm-(end+int64(e.cfg.AllowedLateness)))),
			})
			continue
		}
		out.Windowed++
	}
	return out
}

// Observe advances the watermark with an event's timestamp without storing
// it, closing windows it completes. Add calls it; a caller blocked on
// max_open_windows calls it so the blocked event can still free space.
func (e *Engine) Observe(ev *Event, now int64) {
	if e.cfg.MaxFutureSkew > 0 && ev.Time > now+int64(e.cfg.MaxFutureSkew) {
		return
	}
	if e.wm.observe(ev.Partition, ev.Time, now) {
		e.advance(e.wm.stage)
	}
}

// Tick lets wall-clock time pass: the startup grace ends, idle partitions
// follow the clock and `updates` windows emit their running aggregates every emit_interval.
func (e *Engine) Tick(now int64) {
	if e.wm.tick(now) {
		e.advance(e.wm.stage)
	}
	for i, op := range e.ops {
		w := &e.cfg.Windows[i]
		if w.Emit != EmitUpdates {
			continue
		}
		if e.nextUpd[i] == 0 {
			e.nextUpd[i] = now + int64(w.EmitInterval)
			continue
		}
		if now >= e.nextUpd[i] {
			e.out = op.updates(e.out)
			e.nextUpd[i] = now + int64(w.EmitInterval)
		}
	}
}

// Resume starts an engine that has seen no event at watermark wm, as if
// the events before it had been processed and their windows were closed:
// a partition taken over from another owner replays from its committed
// offset with the watermark it had there, so the same windows close at the
// same events and the same events are late.
func (e *Engine) Resume(wm int64) {
	if wm == NoWatermark {
		return
	}
	e.wm.raise(wm)
	e.advance(wm)
}

// AdvanceTo raises the watermark to wm (never lowers it), closing the
// windows it completes: a caught-up partition that stayed quiet for the
// idle timeout moves on without an event.
func (e *Engine) AdvanceTo(wm int64) {
	if e.wm.raise(wm) {
		e.advance(e.wm.stage)
	}
}

// Flush closes every open window (end of a bounded input).
func (e *Engine) Flush() {
	e.hold = math.MaxInt64
	e.advance(math.MaxInt64)
}

// Abort drops every open window and releases the inputs they hold with err,
// so they are redelivered (graceful shutdown).
func (e *Engine) Abort(err error) {
	for _, op := range e.ops {
		op.abort(err)
	}
}

func (e *Engine) advance(wm int64) {
	wm = min(wm, e.hold)
	for _, op := range e.ops {
		e.out = op.advance(wm, e.out)
	}
}

// Hold caps closing at h: windows with end + allowed_lateness > h stay
// open whatever the watermark, until the hold is raised again
// (math.MaxInt64: none). The watermark, and so which events are late, is
// not affected. Raising the hold closes what the watermark has passed.
func (e *Engine) Hold(h int64) {
	raised := h > e.hold
	e.hold = h
	if raised {
		e.advance(e.wm.stage)
	}
}

// ClosedTo is the watermark windows have been closed to: the watermark,
// or the hold if that is lower.
func (e *Engine) ClosedTo() int64 { return min(e.wm.stage, e.hold) }

// Drain returns and forgets the groups emitted since the last call.
func (e *Engine) Drain() []*Group {
	g := e.out
	e.out = nil
	return g
}

// Open is the number of open (window, key) states, including hopping panes
// and sessions: the quantity max_open_windows bounds.
func (e *Engine) Open() int {
	n := 0
	for _, op := range e.ops {
		n += op.open()
	}
	return n
}

// Watermark is the stage watermark (NoWatermark before the first event).
func (e *Engine) Watermark() int64 { return e.wm.stage }
