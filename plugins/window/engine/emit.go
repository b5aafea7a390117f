package engine

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamkit/pipeline/internal/meta"
)

// Emission is one (window, key) result.
type Emission struct {
	Key        string
	Start, End int64 // unix ns, window is [Start, End)
	Events     int64
	// Body is the JSON object (key, window_start, window_end, aggregates),
	// or nil until Group.body renders it from st: final results of windows
	// no event can reach any more (tumbling windows, closed sessions) are
	// rendered when they are read, outside the engine's lock, instead of all
	// at once when a window closes for every key.
	Body []byte
	st   *state
}

// ID is the deterministic identity of the result, stable across replays so a
// compacted topic keyed by it keeps one record per window.
func (e *Emission) ID() string {
	return e.Key + "|" + FormatTime(e.Start) + "|" + FormatTime(e.End)
}

// Group is a set of emissions produced together. Final groups hold the time
// buckets they were computed from; Release (called once the output acked the
// emissions, with its error) lets the contributing inputs be acknowledged.
type Group struct {
	Window    string
	Type      string
	Final     bool
	Emissions []Emission
	holds     []*Ack
	spec      *WindowSpec
}

// body renders e with its bounds already formatted (callers format them once
// per window, not once per key).
func (g *Group) body(e *Emission, start, end string) []byte {
	if e.Body != nil {
		return e.Body
	}
	return renderBody(g.spec, e.Key, start, end, e.st)
}

// TakeBody returns emission i's body, rendering it if the engine left it to
// the reader, and forgets it: the caller (the message built from it) owns
// it now, and the group no longer keeps the emission's state alive. start
// and end are the emission's bounds formatted by FormatTime (callers format
// them once per window, not once per key).
func (g *Group) TakeBody(i int, start, end string) []byte {
	e := &g.Emissions[i]
	b := g.body(e, start, end)
	e.Body, e.st = nil, nil
	return b
}

// Release resolves the group's holds. Call exactly once.
func (g *Group) Release(err error) {
	for _, h := range g.holds {
		h.Release(err)
	}
	g.holds = nil
}

// hold makes the group wait-for node: the node cannot resolve before the
// group is released.
func (g *Group) hold(a *Ack) {
	a.Hold()
	g.holds = append(g.holds, a)
}

// FormatTime renders unix ns as RFC 3339 in UTC.
func FormatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// renderBody writes the emitted JSON object. start and end are the bounds
// already formatted by FormatTime: callers format them once per window, not
// once per key.
func renderBody(spec *WindowSpec, key string, start, end string, st *state) []byte {
	specs := spec.Aggs
	b := make([]byte, 0, 96+len(key)+24*len(specs))
	b = append(b, '{')
	b = appendJSONString(b, spec.KeyName)
	b = append(b, ':')
	b = appendJSONString(b, key)
	if spec.NameField != "" {
		b = append(b, ',')
		b = appendJSONString(b, spec.NameField)
		b = append(b, ':')
		b = appendJSONString(b, spec.Name)
	}
	if spec.StartField == "" && spec.EndField == "" && spec.DurationField == "" && !spec.ActivityBounds {
		b = append(b, `,"window_start":"`...)
		b = append(b, start...)
		b = append(b, `","window_end":"`...)
		b = append(b, end...)
		b = append(b, '"')
	} else {
		b = appendBounds(b, spec, start, end)
	}
	for i := range specs {
		b = append(b, ',')
		b = appendJSONString(b, specs[i].Name)
		b = append(b, ':')
		if len(st.accs) == 0 {
			b = strconv.AppendInt(b, st.events, 10) // plain counts only (accumsFor)
			continue
		}
		b = st.accs[i].appendJSON(b, &specs[i])
		if st.accs[i].over {
			// Bounded aggregates say so instead of silently under-reporting.
			b = append(b, ',')
			b = appendJSONString(b, specs[i].Name+"_truncated")
			b = append(b, ":true"...)
		}
	}
	return append(b, '}')
}

// appendBounds writes the start and end fields under their configured names,
// the session's activity instead of its window if asked, and the duration.
// The bounds arrive formatted (every caller formats them once per window);
// only these options need them as instants again, so they parse them back
// rather than widen every caller.
func appendBounds(b []byte, spec *WindowSpec, start, end string) []byte {
	startNs, endNs := parseBound(start), parseBound(end)
	if spec.ActivityBounds {
		endNs -= int64(spec.Gap) // a session's window ends one gap after its last event
		end = FormatTime(endNs)
	}
	b = append(b, ',')
	b = appendJSONString(b, orDefault(spec.StartField, meta.WindowStart))
	b = append(b, ':')
	b = appendJSONString(b, start)
	b = append(b, ',')
	b = appendJSONString(b, orDefault(spec.EndField, meta.WindowEnd))
	b = append(b, ':')
	b = appendJSONString(b, end)
	if spec.DurationField != "" {
		b = append(b, ',')
		b = appendJSONString(b, spec.DurationField)
		b = append(b, ':')
		b = strconv.AppendFloat(b, float64(endNs-startNs)/1e9, 'f', -1, 64)
	}
	return b
}

// parseBound reads back what FormatTime wrote.
func parseBound(s string) int64 {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic("window: unparseable bound " + s) // FormatTime wrote it
	}
	return t.UnixNano()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			switch c {
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
