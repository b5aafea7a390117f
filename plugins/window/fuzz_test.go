package window

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/streamkit/pipeline/internal/eventtime"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

// Fuzz targets for the hand-written fast paths: each must agree with the
// general implementation it shortcuts on every input (the same value, or an
// error from both). `go test` runs the seeds below and those in
// testdata/fuzz; `go test -fuzz FuzzX -fuzztime 60s` searches for more.

var timestampSeeds = []string{
	"2024-06-27T15:43:43.315342", "2024-06-27T15:43:43Z", "2024-06-27T15:43:43.1+02:00",
	"2024-06-27 15:43:43", "2024-06-27 15:43:43.5-05:30", "2024-06-27T15:43:43+0200",
	"2024-01-01t00:00:01z", "2024-01-01 00:00:01+0000", "2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z",
	"2024-06-27T24:00:00Z", "2024-06-27T15:43:60Z", "1678-01-01T00:30:00+01:00", "2261-12-31T23:30:00-01:00",
	"1719503023", "1719503023315", "1719503023.5", "2024-06-27T15:43:43.1234567891Z", "2024-06-27T15:43:43,5Z",
	" 2024-06-27T15:43:43Z ", "2024-06-27T15:43", "garbage", "",
}

// FuzzParseTimestampMatchesEventtime: the fast ISO parser behind
// timestamp_field against internal/eventtime, which a timestamp mapping
// uses.
func FuzzParseTimestampMatchesEventtime(f *testing.F) {
	for _, s := range timestampSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gotErr := parseTimestamp([]byte(s))
		want, wantErr := referenceTimestamp(s)
		if (gotErr != nil) != (wantErr != nil) || got != want {
			t.Fatalf("%q: fast %d (%v), eventtime %d (%v)", s, got, gotErr, want, wantErr)
		}
	})
}

// FuzzRawTimestampMatchesEventtime: a timestamp_field value (raw JSON, as
// the field scanner hands it over) against the decoded value that a
// `timestamp: root = this.ts` mapping passes to eventtime.
func FuzzRawTimestampMatchesEventtime(f *testing.F) {
	for _, s := range timestampSeeds {
		b, _ := json.Marshal(s)
		f.Add(string(b))
	}
	for _, s := range []string{`1719503023`, `1719503023315.5`, `-1`, `1e400`, `"\u0032024-01-01T00:00:00Z"`, `true`, `null`, `{}`, `[]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		b := []byte(raw)
		if len(b) == 0 || !json.Valid(b) || len(bytes.TrimSpace(b)) != len(b) {
			return // the scanner only hands over valid values without spaces
		}
		got, gotErr := rawTimestamp(b)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		var want int64
		tm, wantErr := eventtime.Parse(v)
		if wantErr == nil {
			want, wantErr = toNanos(tm)
		}
		if (gotErr != nil) != (wantErr != nil) || got != want {
			t.Fatalf("%s: field %d (%v), mapping %d (%v)", raw, got, gotErr, want, wantErr)
		}
	})
}

// referenceTimestamp is what the timestamp mapping path computes.
func referenceTimestamp(s string) (int64, error) {
	tm, err := eventtime.ParseString(s)
	if err != nil {
		return 0, err
	}
	return toNanos(tm)
}

// referenceField reads path from doc as a mapping's `this.a.b` sees it:
// encoding/json with json.Number (as Benthos decodes messages), the
// document a single JSON object, the last member of a repeated name.
func referenceField(doc []byte, path []string) (v any, found bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, false, err
	}
	var more json.RawMessage
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, false, errors.New("data after the document")
	}
	cur, ok := root.(map[string]any)
	if !ok {
		return nil, false, errNotObject
	}
	for i, seg := range path {
		v, ok := cur[seg]
		if !ok {
			return nil, false, nil
		}
		if i == len(path)-1 {
			return v, true, nil
		}
		if cur, ok = v.(map[string]any); !ok {
			return nil, false, nil
		}
	}
	return nil, false, nil
}

// sameField checks that the fast path's reading of path in doc is the
// reference's: both errors, or the same presence and the same value for
// every use the buffer makes of it (number, string, key text, count_distinct
// and count_by identity).
func sameField(t *testing.T, doc []byte, path string) {
	t.Helper()
	var f fieldSet
	idx := f.add(splitPath(path))
	f.add([]string{"ts"}) // a second path, as with timestamp_field + key_field
	f.scan(doc)
	r := f.res[idx]
	rv, rFound, rErr := referenceField(doc, splitPath(path))
	if (r.err != nil) != (rErr != nil) {
		t.Fatalf("%q path %q: fast err %v, encoding/json err %v", doc, path, r.err, rErr)
	}
	if r.err != nil {
		return
	}
	if r.found != rFound {
		t.Fatalf("%q path %q: fast found=%v, encoding/json found=%v", doc, path, r.found, rFound)
	}
	var got, want engine.Value
	gErr := rawValue(r.raw, r.found, &got)
	wErr := structuredValue(rv, &want)
	if (gErr != nil) != (wErr != nil) {
		t.Fatalf("%q path %q: fast value err %v, encoding/json %v", doc, path, gErr, wErr)
	}
	if gErr != nil {
		return
	}
	if got.Present != want.Present || got.IsNum != want.IsNum ||
		math.Float64bits(got.Num) != math.Float64bits(want.Num) || jsonString(&got) != jsonString(&want) {
		t.Fatalf("%q path %q: fast %+v, encoding/json %+v", doc, path, got, want)
	}
	if !got.Present {
		return
	}
	var b1, b2 [64]byte
	for _, c := range []struct {
		what string
		fn   func([]byte, *engine.Value) []byte
	}{{"text", engine.AppendCanonText}, {"distinct", engine.DistinctKey}, {"count_by", engine.CountByKey}} {
		if g, w := c.fn(b1[:0], &got), c.fn(b2[:0], &want); !bytes.Equal(g, w) {
			t.Fatalf("%q path %q: %s %q, encoding/json %q", doc, path, c.what, g, w)
		}
	}
}

// jsonString reports whether v is a JSON string (the engine compares
// strings by their content, other values by their canonical JSON).
func jsonString(v *engine.Value) bool { return len(v.JSON) > 0 && v.JSON[0] == '"' }

var jsonSeeds = []string{
	` { "a" : 1, "s":"x\"y", "skip":{"q":[1,{"r":"}"}]}, "n":{"b":{"c":"deep"}}, "esc\u0041":true, "nul":null }`,
	`{"user_id":"u1","ts":"2024-06-27T15:43:43Z","metadata":{"page":"/a"}}`,
	`{"a":1,"a":2,"n":3,"n":{"b":1}}`, `{"k":"a","k":"b"}`, `{"s":"café"}`, `{"s":"caf\u00e9"}`,
	`{"a":1.0}`, `{"a":1e0}`, `{"a":-0}`, `{"a":1e400}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":+1}`,
	`{"a":"\ud800"}`, "{\"a\":\"\xff\"}", "{\"a\":\"\x01\"}", `{"a":"\x"}`, `{"a":tru}`, `{"a":nul}`,
	`{"a":[1,2,]}`, `{"a":1,}`, `{,"a":1}`, `{"a":1 "b":2}`, `{"a":1}x`, `{"a":1} {"b":2}`, `{"a":1}  `,
	`[1]`, `"s"`, ``, `{}`, `{"a":{"b":[{"c":1}]}}`, `{"a":{"x":1,"y":[2.0]}}`, `{"a":{"y":[2],"x":1.0}}`,
	`{"a":9007199254740993}`, `{"":1}`, `{"a":"<&>"}`,
}

// FuzzFieldMatchesEncodingJSON: the hand-written field scanner behind
// timestamp_field, key_field and aggregate fields against encoding/json.
func FuzzFieldMatchesEncodingJSON(f *testing.F) {
	for _, d := range jsonSeeds {
		for _, p := range []string{"a", "s", "n.b.c", "k", "user_id", "metadata.page", "a.b", ""} {
			f.Add(d, p)
		}
	}
	f.Fuzz(func(t *testing.T, doc, path string) {
		sameField(t, []byte(doc), path)
	})
}
