package window

// Tests of the window semantics that a differential test against an
// independent reference found wrong (issue 13), one per point.

import (
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
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
