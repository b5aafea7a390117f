package exact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Report is the comparison of a results topic and a late topic with the
// reference. Every count must be 0 for the contract to hold (issue 12,
// point 1): per window id, every record equals what one uninterrupted
// exact run writes, and a re-emission is byte-identical to the first.
type Report struct {
	Produced, LateProduced int // events produced: in total, deliberately late
	Records                int // result records read
	Expected               int // expected windows

	Missing    []string // (a) expected window ids with no record
	Differing  []string // (b) window ids with a record whose body differs from the expected one
	Unexpected []string // (c) ids that no expected window has (partial sessions, wrong bounds, bad bodies)
	// (d) window ids whose records are not all byte-identical, and how many
	// records differ from the first of their id.
	ByteDifferent        []string
	ByteDifferentRecords int
	Duplicates           int // records beyond the first per window id (identical or not)

	// (e) events missing from / counted in excess of the results, per window
	// name, reading the last record per id (what a compacted topic keeps).
	EventsMissing, EventsOver map[string]int

	LateMissing    int      // deliberately late events not in the late topic
	LateUnexpected []string // late-topic records that are not deliberately late events (on-time events routed late)
	LateDuplicates int      // late-topic records beyond the first of each value (a replay routes them again; allowed)

	details []string
}

// Check compares result records (key = window id, value = body) and late
// records (value = the event's bytes) with exp.
func Check(ds *Dataset, exp *Expected, results, late []*kgo.Record) *Report {
	r := &Report{
		Produced: len(ds.Events), LateProduced: len(exp.Late), Records: len(results), Expected: len(exp.Windows),
		EventsMissing: map[string]int{}, EventsOver: map[string]int{},
	}
	byID := map[string][]*kgo.Record{}
	var ids []string
	for _, rec := range results {
		id := string(rec.Key)
		if byID[id] == nil {
			ids = append(ids, id)
		}
		byID[id] = append(byID[id], rec)
	}
	sort.Strings(ids)
	for _, id := range ids {
		recs := byID[id]
		r.Duplicates += len(recs) - 1
		nDiff := 0
		for _, rec := range recs[1:] {
			if !bytes.Equal(rec.Value, recs[0].Value) {
				nDiff++
			}
		}
		if nDiff > 0 {
			r.ByteDifferent = append(r.ByteDifferent, id)
			r.ByteDifferentRecords += nDiff
			r.detail("(d) %s: %d of %d records differ from the first %s, e.g. %s", id, nDiff, len(recs), recs[0].Value, firstOther(recs))
		}
		last := recs[len(recs)-1]
		want := exp.Windows[id]
		if want == nil {
			r.Unexpected = append(r.Unexpected, id)
			name, events := bodyWindow(last.Value)
			r.EventsOver[name] += events
			r.detail("(c) unexpected window %s: %s (%d records)", id, last.Value, len(recs))
			continue
		}
		wantBody := want.Body()
		for _, rec := range recs {
			if !sameJSON(rec.Value, wantBody) {
				r.Differing = append(r.Differing, id)
				r.detail("(b) %s: got %s, want %s", id, rec.Value, wantBody)
				break
			}
		}
		_, got := bodyWindow(last.Value)
		if got < want.Events {
			r.EventsMissing[want.Name] += want.Events - got
		} else {
			r.EventsOver[want.Name] += got - want.Events
		}
	}
	var missing []string
	for id, w := range exp.Windows {
		if byID[id] == nil {
			missing = append(missing, id)
			r.EventsMissing[w.Name] += w.Events
		}
	}
	sort.Strings(missing)
	r.Missing = missing
	for _, id := range missing {
		r.detail("(a) missing %s: want %s", id, exp.Windows[id].Body())
	}
	r.checkLate(exp, late)
	return r
}

// checkLate matches the late topic's values against the deliberately late
// events, as multisets of bytes.
func (r *Report) checkLate(exp *Expected, late []*kgo.Record) {
	want := map[string]bool{}
	for _, v := range exp.Late {
		want[string(v)] = true
	}
	seen := map[string]int{}
	for _, rec := range late {
		v := string(rec.Value)
		seen[v]++
		if seen[v] > 1 {
			r.LateDuplicates++
			continue
		}
		if !want[v] {
			r.LateUnexpected = append(r.LateUnexpected, v)
			r.detail("late topic has an on-time event: %s", v)
		}
	}
	for _, v := range exp.Late {
		if seen[string(v)] == 0 {
			r.LateMissing++
			r.detail("deliberately late event not in the late topic: %s", v)
		}
	}
}

func (r *Report) detail(format string, args ...any) {
	r.details = append(r.details, fmt.Sprintf(format, args...))
}

// Failed tells whether any count that must be 0 is not.
func (r *Report) Failed() bool {
	return len(r.Missing)+len(r.Differing)+len(r.Unexpected)+len(r.ByteDifferent)+
		r.LateMissing+len(r.LateUnexpected)+sum(r.EventsMissing)+sum(r.EventsOver) > 0
}

// Summary is the scenario's line of figures, as the issue asks for them.
func (r *Report) Summary() string {
	return fmt.Sprintf("events produced %d (%d deliberately late); events missing %d, over-counted %d (t10 %d/%d, s30 %d/%d); "+
		"windows expected %d, missing %d, differing %d, unexpected %d; records %d, duplicate records %d, byte-different re-emissions %d (in %d windows); "+
		"late topic: missing %d, on-time events %d, duplicates %d",
		r.Produced, r.LateProduced, sum(r.EventsMissing), sum(r.EventsOver),
		r.EventsMissing[TumblingName], r.EventsOver[TumblingName], r.EventsMissing[SessionName], r.EventsOver[SessionName],
		r.Expected, len(r.Missing), len(r.Differing), len(r.Unexpected), r.Records, r.Duplicates, r.ByteDifferentRecords, len(r.ByteDifferent),
		r.LateMissing, len(r.LateUnexpected), r.LateDuplicates)
}

// Details lists up to limit findings, one a line, in the order found: per
// window id (sorted) byte-different re-emissions, unexpected and differing
// windows; then missing windows; then the late topic's findings.
func (r *Report) Details(limit int) string {
	d := r.details
	more := ""
	if len(d) > limit {
		more = fmt.Sprintf("\n... and %d more", len(d)-limit)
		d = d[:limit]
	}
	return strings.Join(d, "\n") + more
}

// bodyWindow reads the window name and event count of a result body (""
// and 0 when it is not one).
func bodyWindow(v []byte) (string, int) {
	var b struct {
		Window string `json:"window"`
		Events int    `json:"events"`
	}
	_ = json.Unmarshal(v, &b)
	return b.Window, b.Events
}

// sameJSON compares two JSON objects field by field.
func sameJSON(a, b []byte) bool {
	var x, y map[string]any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func firstOther(recs []*kgo.Record) []byte {
	for _, r := range recs[1:] {
		if !bytes.Equal(r.Value, recs[0].Value) {
			return r.Value
		}
	}
	return nil
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
