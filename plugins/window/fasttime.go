package window

import (
	"time"

	"github.com/streamkit/pipeline/internal/eventtime"
)

// parseTimestamp parses the text of a timestamp. The common ISO 8601 shapes
// are decoded by hand (time.Parse tries one layout after another and
// allocates an error for every miss); everything else goes to the shared
// eventtime parser, whose semantics this must match exactly (see
// TestParseTimestampMatchesEventtime and FuzzParseTimestampMatchesEventtime).
func parseTimestamp(b []byte) (int64, error) {
	if ns, ok := parseISOFast(b); ok {
		return ns, nil
	}
	t, err := eventtime.ParseString(string(b))
	if err != nil {
		return 0, err
	}
	return toNanos(t)
}

// toNanos rejects instants outside int64 nanoseconds (years 1678-2262).
func toNanos(t time.Time) (int64, error) {
	if y := t.Year(); y < 1678 || y > 2261 {
		return 0, errOutOfRange(t)
	}
	return t.UnixNano(), nil
}

type rangeErr struct{ t time.Time }

func (e rangeErr) Error() string {
	return "timestamp " + e.t.Format(time.RFC3339) + " is outside the supported range (years 1678-2261)"
}

func errOutOfRange(t time.Time) error { return rangeErr{t} }

func num(b []byte, n int) (int, bool) {
	if len(b) < n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		c := b[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseISOFast handles YYYY-MM-DD[Tt ]hh:mm:ss[.f{1,9}][Zz|±hh:mm|±hhmm]
// for years 1679-2260; anything else (including the edges of the int64
// range, where the zone decides whether the instant is representable) is
// left to eventtime, so the two always agree.
func parseISOFast(b []byte) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't' && b[10] != ' ') || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	year, ok1 := num(b, 4)
	mon, ok2 := num(b[5:], 2)
	day, ok3 := num(b[8:], 2)
	hh, ok4 := num(b[11:], 2)
	mm, ok5 := num(b[14:], 2)
	ss, ok6 := num(b[17:], 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 ||
		day > daysIn(time.Month(mon), year) || hh > 23 || mm > 59 || ss > 59 || year < 1679 || year > 2260 {
		return 0, false
	}
	rest := b[19:]
	var frac int64
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		digits := n - 1
		if digits < 1 || digits > 9 {
			return 0, false
		}
		for i := 1; i < n; i++ {
			frac = frac*10 + int64(rest[i]-'0')
		}
		for i := digits; i < 9; i++ {
			frac *= 10
		}
		rest = rest[n:]
	}
	offset := 0
	switch {
	case len(rest) == 0:
		// No zone: UTC (project convention, see eventtime).
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case (len(rest) == 6 && rest[3] == ':') || len(rest) == 5:
		if rest[0] != '+' && rest[0] != '-' {
			return 0, false
		}
		oh, ok1 := num(rest[1:], 2)
		mi := 3
		if len(rest) == 6 {
			mi = 4
		}
		om, ok2 := num(rest[mi:], 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysSinceEpoch(year, mon, day)*86400 + int64(hh*3600+mm*60+ss) - int64(offset)
	return secs*1e9 + frac, true
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if isLeap(y) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// daysSinceEpoch is the civil-from-days inverse (H. Hinnant's algorithm).
func daysSinceEpoch(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
