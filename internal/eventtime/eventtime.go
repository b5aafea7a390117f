// Package eventtime parses the event timestamps our plugins accept: RFC 3339
// and ISO 8601 strings with or without a zone and fraction (the seeds write
// Python's datetime.isoformat(), e.g. "2024-06-27T15:43:43.315342"), and unix
// epoch numbers in seconds or milliseconds. A timestamp without a zone is UTC,
// because a pipeline must not depend on the zone of the machine it runs on.
package eventtime

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// layouts are tried in order; time.Parse accepts any fraction length for
// ".999999999" so one layout per shape covers every precision. Both
// separators ('T' and ' ') take every zone spelling (none, Z, ±hh:mm,
// ±hhmm), so no combination of the two is accepted with one separator and
// rejected with the other.
var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
}

// msThreshold separates epoch seconds from epoch milliseconds: 1e11 seconds
// is the year 5138, 1e11 milliseconds is March 1973, so no plausible event
// time is ambiguous.
const msThreshold = 1e11

// ParseString parses an ISO 8601 / RFC 3339 timestamp or a decimal epoch
// number given as text.
func ParseString(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("not a timestamp (empty)")
	}
	s = upperTZ(s)
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return FromEpoch(f)
	}
	return time.Time{}, fmt.Errorf("not a timestamp (%q)", truncate(s, 64))
}

// upperTZ upper-cases the date-time separator 't' and the zone designator
// 'z', which RFC 3339 (section 5.6) allows in lower case and time.Parse
// does not.
func upperTZ(s string) string {
	sep := len(s) > 10 && s[10] == 't' && s[4] == '-'
	zone := len(s) > 10 && s[len(s)-1] == 'z'
	if !sep && !zone {
		return s
	}
	b := []byte(s)
	if sep {
		b[10] = 'T'
	}
	if zone {
		b[len(b)-1] = 'Z'
	}
	return string(b)
}

// FromEpoch converts unix seconds, or milliseconds when the value is at
// least 1e11, to a UTC time.
func FromEpoch(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, fmt.Errorf("not a timestamp (%v)", f)
	}
	if f >= msThreshold {
		if f > 1e15 {
			return time.Time{}, fmt.Errorf("not a timestamp (%v is beyond the year 33658 in ms)", f)
		}
		return time.UnixMilli(int64(f)).UTC().Add(time.Duration((f - math.Trunc(f)) * float64(time.Millisecond))), nil
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
}

// Parse accepts the value of a decoded JSON field or a Bloblang result:
// a string, a number (any Go numeric type or json.Number) or a time.Time.
func Parse(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case string:
		return ParseString(x)
	case []byte:
		return ParseString(string(x))
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return time.Time{}, fmt.Errorf("not a timestamp (%q)", x.String())
		}
		return FromEpoch(f)
	case float64:
		return FromEpoch(x)
	case float32:
		return FromEpoch(float64(x))
	case int:
		return FromEpoch(float64(x))
	case int64:
		return FromEpoch(float64(x))
	case int32:
		return FromEpoch(float64(x))
	case uint64:
		return FromEpoch(float64(x))
	case nil:
		return time.Time{}, fmt.Errorf("not a timestamp (null)")
	default:
		return time.Time{}, fmt.Errorf("not a timestamp (%T)", v)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
