package exact

import (
	"encoding/json"
	"sort"
	"time"
)

// The job's windows (JobConfig): what the reference computes.
const (
	TumblingName = "t10"
	TumblingSize = 10 * time.Second
	SessionName  = "s30"
	SessionGap   = 30 * time.Second
)

// Window is one expected result record.
type Window struct {
	ID     string // the record key: user|start|end
	Name   string // t10 or s30
	User   string
	Start  time.Time
	End    time.Time
	Events int
	Pages  int // distinct pages (t10 only)
}

// Body is the record's JSON body as the window buffer writes it: key,
// window name, bounds (RFC 3339 UTC, fraction without trailing zeros) and
// the aggregates.
func (w *Window) Body() []byte {
	m := map[string]any{
		"user": w.User, "window": w.Name,
		"window_start": formatBound(w.Start), "window_end": formatBound(w.End),
		"events": w.Events,
	}
	if w.Name == TumblingName {
		m["pages"] = w.Pages
	}
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // strings and ints only
	}
	return b
}

// formatBound is RFC 3339 in UTC with the fraction only as long as needed,
// the window spec's format for window_start and window_end.
func formatBound(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// windowID is the result key the job writes: key|start|end.
func windowID(user string, start, end time.Time) string {
	return user + "|" + formatBound(start) + "|" + formatBound(end)
}

// Expected is what one uninterrupted, exact run must write.
type Expected struct {
	Windows map[string]*Window // by window id
	// Late holds the values of the deliberately late events, which must all
	// be in the late topic.
	Late [][]byte
	// Events per window name: every on-time event is in exactly one window
	// of each name.
	Events map[string]int
}

// Reference computes the expected results from the events alone, with
// nothing of the window buffer's code: per user the 10 s tumbling windows
// (aligned to the epoch: count and distinct pages) and the sessions (event
// times sorted; a gap of 30 s or more starts a new session; a session is
// [first, last + 30 s)). Late events are in no window.
func Reference(events []Event) *Expected {
	exp := &Expected{Windows: map[string]*Window{}, Events: map[string]int{}}
	byUser := map[string][]Event{}
	pages := map[string]map[string]bool{}
	for _, e := range events {
		if e.Late {
			exp.Late = append(exp.Late, e.Value)
			continue
		}
		byUser[e.User] = append(byUser[e.User], e)
		ns := e.TS.UnixNano()
		start := time.Unix(0, ns-ns%int64(TumblingSize)).UTC() // aligned to the epoch (all times here are after it)
		end := start.Add(TumblingSize)
		id := windowID(e.User, start, end)
		w := exp.Windows[id]
		if w == nil {
			w = &Window{ID: id, Name: TumblingName, User: e.User, Start: start, End: end}
			exp.Windows[id] = w
			pages[id] = map[string]bool{}
		}
		w.Events++
		pages[id][e.Page] = true
		w.Pages = len(pages[id])
		exp.Events[TumblingName]++
	}
	for user, evs := range byUser {
		sort.Slice(evs, func(i, j int) bool { return evs[i].TS.Before(evs[j].TS) })
		first, n := 0, 0
		for i := range evs {
			if i > 0 && evs[i].TS.Sub(evs[i-1].TS) >= SessionGap {
				exp.addSession(user, evs[first].TS, evs[i-1].TS, n)
				first, n = i, 0
			}
			n++
		}
		exp.addSession(user, evs[first].TS, evs[len(evs)-1].TS, n)
	}
	return exp
}

func (exp *Expected) addSession(user string, first, last time.Time, n int) {
	end := last.Add(SessionGap)
	id := windowID(user, first, end)
	if exp.Windows[id] != nil {
		// A session [first, last+30s) cannot have a 10 s window's bounds
		// (its length is at least 30 s); if it did, one key would hold two
		// windows and the comparison would be meaningless.
		panic("exact: session and tumbling window share the id " + id)
	}
	exp.Windows[id] = &Window{ID: id, Name: SessionName, User: user, Start: first, End: end, Events: n}
	exp.Events[SessionName] += n
}
