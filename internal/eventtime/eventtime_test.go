package eventtime

import (
	"encoding/json"
	"testing"
	"time"
)

func TestParseAcceptsSeedAndStandardForms(t *testing.T) {
	want := time.Date(2024, 6, 27, 15, 43, 43, 315342000, time.UTC)
	cases := []any{
		"2024-06-27T15:43:43.315342",
		"2024-06-27T15:43:43.315342Z",
		"2024-06-27T17:43:43.315342+02:00",
		"2024-06-27 15:43:43.315342",
		"2024-06-27T15:43:43.315342+0000",
		want,
	}
	for _, c := range cases {
		got, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%v): %v", c, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("Parse(%v) = %v, want %v in UTC", c, got, want)
		}
	}
}

func TestParseEpochSecondsAndMillis(t *testing.T) {
	want := time.Date(2024, 6, 27, 15, 43, 43, 0, time.UTC)
	for _, c := range []any{float64(want.Unix()), want.Unix(), want.UnixMilli(), json.Number("1719503023"), "1719503023000"} {
		got, err := Parse(c)
		if err != nil {
			t.Fatalf("Parse(%v): %v", c, err)
		}
		if !got.Equal(want) {
			t.Errorf("Parse(%v) = %v, want %v", c, got, want)
		}
	}
	got, _ := Parse(1719503023.5)
	if got.Nanosecond() != 500000000 {
		t.Errorf("fractional seconds lost: %v", got)
	}
}

func TestParseRejectsWithReason(t *testing.T) {
	for _, c := range []any{"yesterday", "", nil, true, -5.0, "2024-13-40T00:00:00"} {
		if _, err := Parse(c); err == nil {
			t.Errorf("Parse(%#v) accepted", c)
		} else if len(err.Error()) < len("not a timestamp") {
			t.Errorf("error too terse: %v", err)
		}
	}
	_, err := Parse("yesterday")
	if err.Error() != `not a timestamp ("yesterday")` {
		t.Errorf("error = %q", err)
	}
}

// RFC 3339 allows 't' and 'z' in lower case; ISO 8601's space separator
// takes every zone spelling the 'T' separator takes (issue 13, point 6).
func TestParseAcceptsLowerCaseAndEveryZoneWithEitherSeparator(t *testing.T) {
	want := time.Date(2024, 1, 1, 0, 0, 1, 0, time.UTC)
	for _, sep := range []string{"T", "t", " "} {
		for _, zone := range []string{"", "Z", "z", "+00:00", "+0000", "-00:00"} {
			s := "2024-01-01" + sep + "00:00:01" + zone
			got, err := ParseString(s)
			if err != nil || !got.Equal(want) {
				t.Errorf("ParseString(%q) = %v, %v; want %v", s, got, err, want)
			}
		}
		s := "2024-01-01" + sep + "01:00:01+0100"
		if got, err := ParseString(s); err != nil || !got.Equal(want) {
			t.Errorf("ParseString(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, bad := range []string{"2024-01-01x00:00:01Z", "2024-01-01T00:00:01y", "2024-01-01T00:00:01zz"} {
		if _, err := ParseString(bad); err == nil {
			t.Errorf("ParseString(%q) accepted", bad)
		}
	}
}
