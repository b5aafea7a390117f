package window

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/streamkit/pipeline/internal/eventtime"
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
