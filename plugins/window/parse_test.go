package window

import (
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/eventtime"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

func TestLookup(t *testing.T) {
	doc := []byte(` { "a" : 1, "s":"x\"y", "skip":{"q":[1,{"r":"}"}]}, "n":{"b":{"c":"deep"}}, "esc\u0041":true, "nul":null }`)
	cases := []struct {
		path  string
		want  string
		found bool
	}{
		{"a", "1", true}, {"s", `"x\"y"`, true}, {"n.b.c", `"deep"`, true}, {"escA", "true", true},
		{"nul", "null", true}, {"missing", "", false}, {"a.b", "", false}, {"n.x", "", false},
	}
	for _, c := range cases {
		raw, found, err := lookup(doc, splitPath(c.path))
		if err != nil || found != c.found || string(raw) != c.want {
			t.Errorf("%s: %q %v %v", c.path, raw, found, err)
		}
	}
	if _, _, err := lookup([]byte(`[1]`), []string{"a"}); err == nil {
		t.Error("array root accepted")
	}
	if _, _, err := lookup([]byte(`{"a":`), []string{"a"}); err == nil {
		t.Error("truncated JSON accepted")
	}
	var v engine.Value
	if err := rawValue([]byte(`"a\u00e9"`), true, &v); err != nil || string(v.Str) != "aé" || !v.Present {
		t.Errorf("escaped string: %q %v", v.Str, err)
	}
	if err := rawValue([]byte(`-1.5e2`), true, &v); err != nil || !v.IsNum || v.Num != -150 {
		t.Errorf("number: %+v %v", v, err)
	}
	if err := rawValue([]byte(`null`), true, &v); err != nil || v.Present {
		t.Errorf("null should be absent: %+v", v)
	}
}

// The hand-written ISO parser must agree with the shared eventtime parser.
func TestParseTimestampMatchesEventtime(t *testing.T) {
	inputs := []string{
		"2024-06-27T15:43:43.315342", "2024-06-27T15:43:43Z", "2024-06-27T15:43:43.1+02:00",
		"2024-06-27 15:43:43", "2024-06-27 15:43:43.5-05:30", "2024-06-27T15:43:43+0200",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2024-06-27T24:00:00Z", "2024-06-27T15:43:60Z",
		"2024-13-01T00:00:00Z", "2024-06-27T15:43", "2024-06-27T15:43Z", "1719503023", "1719503023315",
		"1719503023.5", "2024-06-27T15:43:43.1234567891Z", "2024-06-27T15:43:43.Z", "1900-01-01T00:00:00Z",
		"2024-06-27T15:43:43+24:00", "2024-06-27t15:43:43z", "2024-06-27 15:43:43+0200", "garbage", "",
	}
	for _, in := range inputs {
		got, gotErr := parseTimestamp([]byte(in))
		want, wantErr := eventtime.ParseString(in)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%q: err %v, eventtime err %v", in, gotErr, wantErr)
			continue
		}
		if gotErr == nil && got != want.UnixNano() {
			t.Errorf("%q: %v, eventtime %v", in, time.Unix(0, got).UTC(), want)
		}
	}
	// Every second of a few years round-trips through the fast path.
	for ts := time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC); ts.Year() < 2003; ts = ts.Add(7*time.Hour + 13*time.Minute + 17*time.Second) {
		s := ts.Format("2006-01-02T15:04:05.000000")
		ns, ok := parseISOFast([]byte(s))
		if !ok || ns != ts.UnixNano() {
			t.Fatalf("%s: %v %v", s, ns, ok)
		}
	}
}
