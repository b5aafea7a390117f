package engine

import (
	"strings"
	"testing"
)

// Hopping windows merge panes into reused scratch states: nothing of one
// window's (or key's) state may leak into the next one's body.
func TestHoppingScratchStatesDoNotLeak(t *testing.T) {
	aggs := []AggSpec{
		{Name: "n", Kind: AggCount},
		{Name: "pages", Kind: AggCollect, HasInput: true, Limit: 2},
		{Name: "distinct", Kind: AggCountDistinct, HasInput: true, Limit: 2},
		{Name: "by", Kind: AggCountBy, HasInput: true, Limit: 1},
		{Name: "first", Kind: AggFirst, HasInput: true},
	}
	e := mustEngine(t, Config{Windows: []WindowSpec{{Name: "h", Kind: Hopping, Size: dur(20), Slide: dur(10), KeyName: "key", Aggs: aggs}}})
	for i, p := range []string{"/a", "/b", "/c"} {
		e.Add(mkEvent("a", at(float64(1+i)), 0, strVal(p), strVal(p), strVal(p), strVal(p), strVal(p)), 0)
	}
	e.Add(mkEvent("b", at(21), 0, strVal("/z"), strVal("/z"), strVal("/z"), strVal("/z"), strVal("/z")), 0)
	e.Flush()
	var bodies []string
	for _, g := range e.Drain() {
		for i, em := range g.Emissions {
			bodies = append(bodies, em.Key+" "+string(g.Body(i)))
		}
		g.Release(nil)
	}
	got := strings.Join(bodies, "\n")
	want := strings.Join([]string{
		`a {"key":"a","window_start":"2023-12-31T23:59:50Z","window_end":"2024-01-01T00:00:10Z","n":3,"pages":["/a","/b"],"pages_truncated":true,"distinct":2,"distinct_truncated":true,"by":{"/a":1,"__other__":2},"by_truncated":true,"first":"/a"}`,
		`a {"key":"a","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:20Z","n":3,"pages":["/a","/b"],"pages_truncated":true,"distinct":2,"distinct_truncated":true,"by":{"/a":1,"__other__":2},"by_truncated":true,"first":"/a"}`,
		`b {"key":"b","window_start":"2024-01-01T00:00:10Z","window_end":"2024-01-01T00:00:30Z","n":1,"pages":["/z"],"distinct":1,"by":{"/z":1},"first":"/z"}`,
		`b {"key":"b","window_start":"2024-01-01T00:00:20Z","window_end":"2024-01-01T00:00:40Z","n":1,"pages":["/z"],"distinct":1,"by":{"/z":1},"first":"/z"}`,
	}, "\n")
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}
