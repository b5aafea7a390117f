package window

// Tests of the window semantics that a differential test against an
// independent reference found wrong (issue 13), one per point.

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/eventtime"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

// Point 3: an aggregate, the key or name_field named like another field of
// the result object would write that name twice; lint and the constructor
// both reject it, naming the field.
func TestResultNameCollisionsFailLintNamingTheField(t *testing.T) {
	cases := []struct{ window, field, other string }{
		{`{ name: a, size: 1s, aggregates: [ { name: n }, { name: key } ] }`,
			"windows[0].aggregates[1].name", "the key field (key_name)"},
		{`{ name: a, size: 1s, aggregates: [ { name: window_end } ] }`,
			"windows[0].aggregates[0].name", "window_end"},
		{`{ name: a, size: 1s, key_name: user, aggregates: [ { name: user } ] }`,
			"windows[0].aggregates[0].name", "the key field (key_name)"},
		{`{ name: a, size: 1s, name_field: window, aggregates: [ { name: window } ] }`,
			"windows[0].aggregates[0].name", "name_field"},
		{`{ name: a, size: 1s, key_name: window_start }`, "windows[0].key_name", "window_start"},
		{`{ name: a, size: 1s, name_field: key }`, "windows[0].name_field", "the key field (key_name)"},
		{`{ name: a, size: 1s, aggregates: [ { name: p_truncated }, { name: p, type: collect, field: x } ] }`,
			"windows[0].aggregates[1].name", "aggregate 0"},
		{`{ name: a, size: 1s, aggregates: [ { name: n }, { name: n } ] }`,
			"windows[0].aggregates[1].name", "aggregate 0"},
	}
	for _, c := range cases {
		conf := "windows: [ " + c.window + " ]"
		want := "field " + c.field + ": "
		err := service.NewStreamBuilder().SetBufferYAML("window:\n" + indent(conf))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.other) {
			t.Errorf("lint %s: err %v, want it to name %s and %s", conf, err, c.field, c.other)
		}
		pc, err := bufferSpec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseOptions(pc); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.other) {
			t.Errorf("constructor %s: err %v, want it to name %s and %s", conf, err, c.field, c.other)
		}
	}
	// Distinct names, and a flag name only bounded aggregates write, pass.
	for _, conf := range []string{
		`windows: [ { name: a, size: 1s, key_name: user, name_field: window, aggregates: [ { name: key }, { name: n_truncated }, { name: n, type: sum, field: x } ] } ]`,
	} {
		if err := service.NewStreamBuilder().SetBufferYAML("window:\n" + indent(conf)); err != nil {
			t.Errorf("lint rejected %s: %v", conf, err)
		}
		pc, err := bufferSpec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseOptions(pc); err != nil {
			t.Errorf("constructor rejected %s: %v", conf, err)
		}
	}
}

// windowDocs returns the window buffer's description and its top-level
// field descriptions, as `pipeline create //window` prints them.
func windowDocs(t *testing.T) (string, map[string]string) {
	t.Helper()
	var desc string
	fields := map[string]string{}
	service.GlobalEnvironment().WalkBuffers(func(name string, cv *service.ConfigView) {
		if name != "window" {
			return
		}
		desc = cv.Description()
		j, err := cv.FormatJSON()
		if err != nil {
			t.Fatal(err)
		}
		var spec struct {
			Config struct {
				Children []struct{ Name, Description string } `json:"children"`
			} `json:"config"`
		}
		if err := json.Unmarshal(j, &spec); err != nil {
			t.Fatal(err)
		}
		for _, f := range spec.Config.Children {
			fields[f.Name] = f.Description
		}
	})
	if desc == "" {
		t.Fatal("window buffer not registered")
	}
	return desc, fields
}

// Point 5: the spec states the lateness rule the engine follows (an event
// is late when its window's end + allowed_lateness <= the watermark it is
// judged against), not "more than allowed_lateness behind its partition".
func TestSpecStatesTheLatenessRule(t *testing.T) {
	desc, fields := windowDocs(t)
	for _, c := range []struct{ where, text string }{
		{fields[fAllowedLateness], "it is late when its window's end + allowed_lateness <= that watermark"},
		{fields[fAllowedLateness], "the larger of the stage watermark and its own partition's newest event time"},
		{desc, "the larger of the stage watermark and its own partition's watermark"},
		{desc, "Sessions: the session it would end up in"},
		{desc, "a session that has closed for the event is never joined"},
		{fields[fStartupGrace], "it does not change which events count (in which windows, for every window type)"},
	} {
		if !strings.Contains(c.where, c.text) {
			t.Errorf("the spec does not say %q", c.text)
		}
	}
	for _, wrong := range []string{"Events up to this much behind the newest event of their own partition are still counted",
		"or when it is more than"} {
		if strings.Contains(desc, wrong) || strings.Contains(fields[fAllowedLateness], wrong) {
			t.Errorf("the spec still says %q", wrong)
		}
	}
}

// Point 6: the four spellings of one instant all parse, through
// timestamp_field (fast path) and through a timestamp mapping (eventtime).
func TestTimestampSpellingsOfOneInstantAllParse(t *testing.T) {
	want := at(1)
	for _, c := range []struct {
		s     string
		shift int64
	}{
		{"2024-01-01t00:00:01z", 0}, {"2024-01-01 00:00:01+0000", 0},
		{"2024-01-01T00:00:01+0000", 0}, {"2024-01-01 01:00:01+01:00", 0},
		{"2024-01-01 00:00:01+01:00", -sec(3600)}, {"2024-01-01T00:00:01z", 0},
	} {
		got, err := rawTimestamp([]byte(`"` + c.s + `"`))
		if err != nil || got != want+c.shift {
			t.Errorf("timestamp_field %q: %s, %v; want %s", c.s, engine.FormatTime(got), err, engine.FormatTime(want+c.shift))
		}
		tm, err := eventtime.Parse(c.s)
		if err != nil || tm.UnixNano() != want+c.shift {
			t.Errorf("timestamp mapping %q: %v, %v; want %s", c.s, tm, err, engine.FormatTime(want+c.shift))
		}
	}
}

// runDocs extracts docs as the buffer does (options from yaml, one
// extractor) and feeds them to an engine, then flushes. It returns the
// result bodies in emission order (without window bounds) and each doc's
// extraction error.
func runDocs(t *testing.T, yaml string, docs ...string) ([]map[string]any, []error) {
	t.Helper()
	conf, err := bufferSpec().ParseYAML(yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := parseOptions(conf)
	if err != nil {
		t.Fatal(err)
	}
	x := newExtractor(o)
	e, err := engine.New(o.engine)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, d := range docs {
		ev := &engine.Event{}
		_, err := x.extract(service.NewMessage([]byte(d)), ev, at(0))
		errs = append(errs, err)
		if err == nil {
			e.Add(ev, at(0))
		}
	}
	e.Flush()
	var bodies []map[string]any
	for _, g := range e.Drain() {
		for i, em := range g.Emissions {
			var body map[string]any
			raw := g.TakeBody(i, engine.FormatTime(em.Start), engine.FormatTime(em.End))
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("emission body is not JSON: %v: %s", err, raw)
			}
			delete(body, "window_start")
			delete(body, "window_end")
			bodies = append(bodies, body)
		}
		g.Release(nil)
	}
	return bodies, errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
	}
}

func bodiesJSON(bs []map[string]any) string {
	b, _ := json.Marshal(bs)
	return string(b)
}

// Point 1: count_distinct (and count_by) compare values, not their JSON
// spelling: "café" and "caf\u00e9" are one string, 1, 1.0, 1e0 one number,
// through a field as through a mapping; the string "1" and the number 1
// stay two values, and integers beyond float64 precision stay apart.
func TestCountDistinctComparesValuesNotSpellings(t *testing.T) {
	docs := []string{
		`{"ts":"2024-01-01T00:00:01Z","k":"a","s":"café","n":1}`,
		`{"ts":"2024-01-01T00:00:02Z","k":"a","s":"caf\u00e9","n":1.0}`,
		`{"ts":"2024-01-01T00:00:03Z","k":"a","s":"caf\u00E9","n":1e0}`,
		`{"ts":"2024-01-01T00:00:04Z","k":"a","s":"cafe","n":10E-1}`,
		`{"ts":"2024-01-01T00:00:05Z","k":"a","s":"1","n":"1"}`,
		`{"ts":"2024-01-01T00:00:06Z","k":"a","s":{"x":1,"y":[2.0]},"n":9007199254740993}`,
		`{"ts":"2024-01-01T00:00:07Z","k":"a","s":{"y":[2],"x":1.0},"n":9007199254740992}`,
	}
	bodies, errs := runDocs(t, `
timestamp_field: ts
startup_grace: 0s
windows:
  - name: w
    size: 10s
    key_field: k
    aggregates:
      - { name: s_field, type: count_distinct, field: s }
      - { name: s_mapping, type: count_distinct, mapping: root = this.s }
      - { name: n_field, type: count_distinct, field: n }
      - { name: n_mapping, type: count_distinct, mapping: root = this.n }
      - { name: n_by, type: count_by, field: n }
`, docs...)
	noErrors(t, errs)
	// s: café, cafe, "1", one object. n: 1, "1", two large integers.
	want := `[{"key":"a","n_by":{"1":5,"9007199254740992":1,"9007199254740993":1},"n_field":4,"n_mapping":4,"s_field":4,"s_mapping":4}]`
	if got := bodiesJSON(bodies); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// Point 2: a mapping's string result stays a string even when it spells
// JSON: "12" is not summed, "null" is a key, "1" and 1 are two values.
func TestMappingStringResultsAreNotRetyped(t *testing.T) {
	bodies, errs := runDocs(t, `
timestamp_field: ts
startup_grace: 0s
windows:
  - name: w
    size: 10s
    key_mapping: root = this.k
    aggregates:
      - { name: sum_mapping, type: sum, mapping: root = this.v }
      - { name: sum_field, type: sum, field: v }
      - { name: distinct, type: count_distinct, mapping: root = this.v }
      - { name: bare, type: count_distinct, mapping: this.v }
`,
		`{"ts":"2024-01-01T00:00:01Z","k":"null","v":"12"}`,
		`{"ts":"2024-01-01T00:00:02Z","k":"null","v":3}`,
		`{"ts":"2024-01-01T00:00:03Z","k":"null","v":"3"}`,
		`{"ts":"2024-01-01T00:00:04Z","k":"{\"a\":1}","v":"null"}`,
	)
	noErrors(t, errs)
	want := `[{"bare":3,"distinct":3,"key":"null","sum_field":3,"sum_mapping":3},{"bare":1,"distinct":1,"key":"{\"a\":1}","sum_field":0,"sum_mapping":0}]`
	if got := bodiesJSON(bodies); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// Point 7: when an object has a name twice the last member counts, for
// key_field as for a Bloblang key (encoding/json's rule), and for
// timestamp_field and aggregate fields likewise.
func TestDuplicateNamesLastOneCountsOnEveryPath(t *testing.T) {
	doc := `{"ts":"2020-01-01T00:00:00Z","k":"a","v":1,"n":{"x":"p","x":"q"},"k":"b","ts":"2024-01-01T00:00:01Z","v":2}`
	for _, key := range []string{"key_field: k", "key_mapping: root = this.k", `key: '${! json("k") }'`} {
		bodies, errs := runDocs(t, `
timestamp_field: ts
startup_grace: 0s
windows:
  - name: w
    size: 10s
    `+key+`
    aggregates:
      - { name: v, type: sum, field: v }
      - { name: vm, type: sum, mapping: root = this.v }
      - { name: x, type: first, field: n.x }
`, doc)
		noErrors(t, errs)
		want := `[{"key":"b","v":2,"vm":2,"x":"q"}]`
		if got := bodiesJSON(bodies); got != want {
			t.Errorf("%s: got %s, want %s", key, got, want)
		}
	}
}

// Point 8: results leave the buffer in window_end order per definition, and
// the spec says how the pipeline can reorder them and how to keep the order.
func TestSpecStatesTheResultOrder(t *testing.T) {
	desc, _ := windowDocs(t)
	for _, text := range []string{
		"the buffer hands out the final results of each window definition in `window_end` order",
		"`pipeline.threads`, by default one per CPU",
		"set `pipeline.threads: 1` and `max_in_flight: 1` on the output",
	} {
		if !strings.Contains(desc, text) {
			t.Errorf("the spec does not say %q", text)
		}
	}
}

// Point 7, documented: every fast path says which member of a repeated name
// it reads.
func TestSpecStatesTheDuplicateNameRule(t *testing.T) {
	_, fields := windowDocs(t)
	if !strings.Contains(fields[fTimestampField], "when an object has a name twice the last one counts") {
		t.Errorf("timestamp_field does not state the rule: %s", fields[fTimestampField])
	}
	// key_field and aggregate fields are nested: read the whole spec (JSON,
	// so "<" is "\u003c").
	var spec string
	service.GlobalEnvironment().WalkBuffers(func(name string, cv *service.ConfigView) {
		if name == "window" {
			j, err := cv.FormatJSON()
			if err != nil {
				t.Fatal(err)
			}
			spec = string(j)
		}
	})
	for _, text := range []string{
		"several comma-separated paths form a composite key joined with `:`. Strings are used as-is, other values as canonical JSON",
		"The message must be one valid JSON object, and when an object has a name twice the last one counts, as in a mapping. A missing or null key field",
		"It reads what `mapping: root = this.\\u003cpath\\u003e` would",
	} {
		if !strings.Contains(spec, text) {
			t.Errorf("the window spec does not say %q", text)
		}
	}
}
