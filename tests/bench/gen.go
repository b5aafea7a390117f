package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"time"
)

// The data set: clickstream events shaped like the seeds' (and the tests'
// pageEvent), user ids uniform over -users, event times spread evenly over
// -span with "mild disorder" (each event up to -disorder earlier than its
// slot). Fixed seed: every run and every scenario sees the same bytes.
var (
	baseTime   = time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	eventTypes = []string{"page_view", "page_view", "page_view", "click", "click", "scroll", "add_to_cart", "purchase"}
	pages      = []string{"/", "/search", "/item", "/cart", "/checkout", "/help", "/account", "/deals", "/new", "/blog"}
)

const tsLayout = "2006-01-02T15:04:05.000000" // the seeds' naive UTC ISO format

type genParams struct {
	events, users  int
	span, disorder time.Duration
	seed           uint64
}

// wkey is one (user, window start in unix seconds).
type wkey struct {
	user  string
	start int64
}

// dataset is the generated file plus the reference counts computed while
// writing it (the C loop recomputes them independently from the bytes).
type dataset struct {
	path        string
	subsetPath  string // the first subsetN lines, for B
	n, subsetN  int
	bytes       int64
	tumbling    map[wkey]int32 // 10 s tumbling counts, full set
	tumblingSub map[wkey]int32 // same, on the subset
	userTimes   map[string][]int64
	subTimes    map[string][]int64 // the subset's
}

func userName(i int) string { return fmt.Sprintf("user-%05d", i) }

// generate writes the data set and its reference counts.
func generate(dir string, p genParams, subsetN int) (*dataset, error) {
	ds := &dataset{
		path: dir + "/events.jsonl", subsetPath: dir + "/events_subset.jsonl",
		n: p.events, subsetN: min(subsetN, p.events),
		tumbling: map[wkey]int32{}, tumblingSub: map[wkey]int32{}, userTimes: map[string][]int64{}, subTimes: map[string][]int64{},
	}
	f, err := os.Create(ds.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fs, err := os.Create(ds.subsetPath)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	ws := bufio.NewWriterSize(fs, 1<<20)
	rng := rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))
	names := make([]string, p.users)
	for i := range names {
		names[i] = userName(i)
	}
	var line []byte
	for i := 0; i < p.events; i++ {
		u := names[rng.IntN(p.users)]
		slot := baseTime.Add(time.Duration(int64(p.span) * int64(i) / int64(p.events)))
		ts := slot.Add(-time.Duration(rng.Int64N(int64(p.disorder) + 1))).Truncate(time.Microsecond)
		typ := eventTypes[rng.IntN(len(eventTypes))]
		page := pages[rng.IntN(len(pages))]
		line = line[:0]
		line = fmt.Appendf(line, `{"event_type":%q,"user_id":%q,"action":"view","timestamp":%q,"metadata":{"session_id":"s-%s","page":%q,"item_id":"05efee91","user_agent":"bench"}}`+"\n",
			typ, u, ts.Format(tsLayout), u, page)
		w.Write(line)
		ds.bytes += int64(len(line))
		k := wkey{u, floorDiv(ts.Unix(), 10) * 10}
		ds.tumbling[k]++
		if i < ds.subsetN {
			ws.Write(line)
			ds.tumblingSub[k]++
			ds.subTimes[u] = append(ds.subTimes[u], ts.UnixNano())
		}
		ds.userTimes[u] = append(ds.userTimes[u], ts.UnixNano())
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return ds, ws.Flush()
}

func (ds *dataset) times(subset bool) map[string][]int64 {
	if subset {
		return ds.subTimes
	}
	return ds.userTimes
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// hoppingRef: counts per (user, start) of windows of size s sliding by
// slide seconds, derived from the event times.
func (ds *dataset) hoppingRef(size, slide int64, subset bool) map[wkey]int32 {
	out := map[wkey]int32{}
	for u, ts := range ds.times(subset) {
		for _, t := range ts {
			sec := floorDiv(t, int64(time.Second))
			last := floorDiv(sec, slide) * slide
			for st := last; st > sec-size; st -= slide {
				out[wkey{u, st}]++
			}
		}
	}
	return out
}

// sessionRef: counts per (user, session start in unix seconds, floored)
// for inactivity gap g.
func (ds *dataset) sessionRef(gap time.Duration, subset bool) map[wkey]int32 {
	out := map[wkey]int32{}
	for u, ts := range ds.times(subset) {
		s := append([]int64(nil), ts...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		start, prev := s[0], s[0]
		n := int32(0)
		for _, t := range s {
			if t-prev >= int64(gap) {
				out[wkey{u, floorDiv(start, int64(time.Second))}] = n
				start, n = t, 0
			}
			n++
			prev = t
		}
		out[wkey{u, floorDiv(start, int64(time.Second))}] = n
	}
	return out
}

// compare reports "" when got == want, else a short description.
func compare(got, want map[wkey]int32) string {
	if len(got) == len(want) {
		same := true
		for k, v := range want {
			if got[k] != v {
				same = false
				break
			}
		}
		if same {
			return ""
		}
	}
	var sg, sw int64
	for _, v := range got {
		sg += int64(v)
	}
	for _, v := range want {
		sw += int64(v)
	}
	diffs, example := 0, ""
	for k, v := range want {
		if got[k] != v {
			diffs++
			if example == "" {
				example = fmt.Sprintf("%s@%d: got %d want %d", k.user, k.start, got[k], v)
			}
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			diffs++
			if example == "" {
				example = fmt.Sprintf("%s@%d: got %d, not expected", k.user, k.start, v)
			}
		}
	}
	return fmt.Sprintf("%d keys vs %d expected, %d events vs %d, %d differ (e.g. %s)", len(got), len(want), sg, sw, diffs, example)
}
