package exact

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCheckFindsEveryKindOfDifference feeds the checker the exact results
// of a data set, then the same with one fault of each kind, and requires
// each fault to be counted where it belongs and nowhere else.
func TestCheckFindsEveryKindOfDifference(t *testing.T) {
	ds := Generate(ShortData(3))
	exp := Reference(ds.Events)
	exact := func() (results, late []*kgo.Record) {
		for id, w := range exp.Windows {
			results = append(results, &kgo.Record{Key: []byte(id), Value: w.Body()})
		}
		for _, v := range exp.Late {
			late = append(late, &kgo.Record{Key: []byte("k"), Value: v})
		}
		return results, late
	}
	results, late := exact()
	if r := Check(ds, exp, results, late); r.Failed() {
		t.Fatalf("exact results reported as failing: %s\n%s", r.Summary(), r.Details(10))
	}
	// An identical re-emission is allowed, only counted.
	results, late = exact()
	results = append(results, &kgo.Record{Key: results[0].Key, Value: results[0].Value})
	if r := Check(ds, exp, results, late); r.Failed() || r.Duplicates != 1 {
		t.Errorf("identical re-emission: failed=%v duplicates=%d, want a pass with 1 duplicate", r.Failed(), r.Duplicates)
	}

	first := func(name string, results []*kgo.Record) int {
		for i, rec := range results {
			if exp.Windows[string(rec.Key)].Name == name {
				return i
			}
		}
		t.Fatalf("no %s window", name)
		return -1
	}
	cases := []struct {
		name  string
		fault func(results, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record)
		want  func(r *Report) bool
	}{
		{"missing window", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			return res[1:], late
		}, func(r *Report) bool { return len(r.Missing) == 1 && sum(r.EventsMissing) > 0 && len(r.Differing) == 0 }},
		{"half-full window emitted as final", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			i := first(TumblingName, res)
			w := *exp.Windows[string(res[i].Key)]
			w.Events--
			res[i] = &kgo.Record{Key: res[i].Key, Value: w.Body()}
			return res, late
		}, func(r *Report) bool {
			return len(r.Differing) == 1 && r.EventsMissing[TumblingName] == 1 && len(r.Missing) == 0
		}},
		{"partial re-emission after the full one", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			i := first(TumblingName, res)
			w := *exp.Windows[string(res[i].Key)]
			w.Pages++
			return append(res, &kgo.Record{Key: res[i].Key, Value: w.Body()}), late
		}, func(r *Report) bool {
			return len(r.ByteDifferent) == 1 && r.ByteDifferentRecords == 1 && len(r.Differing) == 1 && r.Duplicates == 1
		}},
		{"re-emission with the same fields in another order", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			v := string(res[0].Value)
			reordered := "{" + v[strings.Index(v, ",")+1:len(v)-1] + "," + v[1:strings.Index(v, ",")] + "}"
			return append(res, &kgo.Record{Key: res[0].Key, Value: []byte(reordered)}), late
		}, func(r *Report) bool { return len(r.ByteDifferent) == 1 && len(r.Differing) == 0 }},
		{"split session", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			i := first(SessionName, res)
			w := *exp.Windows[string(res[i].Key)]
			w.Start = w.Start.Add(1)
			w.ID = windowID(w.User, w.Start, w.End)
			w.Events = 1
			return append(res, &kgo.Record{Key: []byte(w.ID), Value: w.Body()}), late
		}, func(r *Report) bool {
			return len(r.Unexpected) == 1 && r.EventsOver[SessionName] == 1 && len(r.Missing) == 0
		}},
		{"over-counted window", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			i := first(SessionName, res)
			w := *exp.Windows[string(res[i].Key)]
			w.Events += 2
			res[i] = &kgo.Record{Key: res[i].Key, Value: w.Body()}
			return res, late
		}, func(r *Report) bool { return r.EventsOver[SessionName] == 2 && len(r.Differing) == 1 }},
		{"late event lost", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			return res, late[1:]
		}, func(r *Report) bool { return r.LateMissing == 1 }},
		{"on-time event routed late", func(res, late []*kgo.Record) ([]*kgo.Record, []*kgo.Record) {
			return res, append(late, &kgo.Record{Value: ds.Events[0].Value})
		}, func(r *Report) bool { return len(r.LateUnexpected) == 1 }},
	}
	for _, c := range cases {
		results, late := c.fault(exact())
		r := Check(ds, exp, results, late)
		if !r.Failed() || !c.want(r) {
			t.Errorf("%s: failed=%v, %s", c.name, r.Failed(), r.Summary())
		}
	}
}
