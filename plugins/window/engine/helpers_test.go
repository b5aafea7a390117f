package engine

import (
	"encoding/json"
	"testing"
	"time"
)

// t0 is 2024-01-01T00:00:00Z, a UTC midnight, in unix ns.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func sec(n float64) int64 { return int64(n * float64(time.Second)) }

// dur is n seconds as a duration (window sizes, lateness, timeouts).
func dur(n float64) time.Duration { return time.Duration(sec(n)) }

// at is t0 + n seconds.
func at(n float64) int64 { return t0 + sec(n) }

func numVal(f float64) Value {
	b := AppendNumber(nil, f)
	return Value{Present: true, IsNum: true, Num: f, Str: b, JSON: b}
}

func strVal(s string) Value {
	b, _ := json.Marshal(s)
	return Value{Present: true, Str: []byte(s), JSON: b}
}

// mkEvent builds a single-window event.
func mkEvent(key string, t int64, part int, vals ...Value) *Event {
	return &Event{Time: t, Partition: part, Inputs: []Input{{Key: []byte(key), Values: vals}}}
}

type out struct {
	Window, Key string
	Start, End  int64
	Events      int64
	Final       bool
	Body        map[string]any
}

func drain(t *testing.T, e *Engine) []out {
	t.Helper()
	var res []out
	for _, g := range e.Drain() {
		for i, em := range g.Emissions {
			var body map[string]any
			if err := json.Unmarshal(g.Body(i), &body); err != nil {
				t.Fatalf("emission body is not JSON: %v: %s", err, g.Body(i))
			}
			res = append(res, out{g.Window, em.Key, em.Start, em.End, em.Events, g.Final, body})
		}
		g.Release(nil)
	}
	return res
}

func mustEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func countCfg(w WindowSpec, lateness time.Duration) Config {
	if w.Name == "" {
		w.Name = "w"
	}
	if w.KeyName == "" {
		w.KeyName = "key"
	}
	if w.Aggs == nil {
		w.Aggs = []AggSpec{{Name: "n", Kind: AggCount}}
	}
	return Config{AllowedLateness: lateness, Windows: []WindowSpec{w}}
}

// summary renders emissions compactly for comparisons: key@start+len=events.
func summary(os []out) []string {
	var s []string
	for _, o := range os {
		s = append(s, o.Key+"@"+time.Unix(0, o.Start).UTC().Format("15:04:05")+"-"+
			time.Unix(0, o.End).UTC().Format("15:04:05")+"="+itoa(o.Events))
	}
	return s
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func eq(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d emissions %v, want %d %v", len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("emission %d: got %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
}

// Body returns emission i's JSON body, rendering it if the engine left it
// to the reader.
func (g *Group) Body(i int) []byte {
	e := &g.Emissions[i]
	return g.body(e, FormatTime(e.Start), FormatTime(e.End))
}
