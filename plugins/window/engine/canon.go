package engine

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// Aggregates that compare values (count_distinct, count_by) compare what a
// value is, not how its JSON was spelled: "café" and "caf\u00e9" are one
// string, 1, 1.0, 1e0 and 10e-1 one number, {"a":1,"b":2} and {"b":2,"a":1.0}
// one object; the string "1" and the number 1 stay two values. Numbers are
// compared as exact decimals (not as float64), so large integer IDs that
// float64 cannot tell apart stay distinct.

// DistinctKey returns the identity of v for count_distinct, using dst as
// scratch. A string is its own content (no copy; the usual case); other
// values are "\x00" + a type letter + their canonical text, and a string
// that itself starts with "\x00" gets the "\x00s" prefix, so no string
// equals a non-string.
func DistinctKey(dst []byte, v *Value) []byte {
	if isJSONString(v) {
		if len(v.Str) == 0 || v.Str[0] != 0 {
			return v.Str
		}
		return append(append(dst, 0, 's'), v.Str...)
	}
	if v.IsNum {
		if b, ok := appendCanonNumber(append(dst, 0, 'n'), v.JSON); ok {
			return b
		}
	}
	return appendCanonJSON(append(dst, 0, 'j'), v.JSON)
}

// CountByKey is the count_by bucket of v: a string's content, other values
// as canonical JSON (1.0 and 1e0 are the bucket "1").
func CountByKey(dst []byte, v *Value) []byte {
	if isJSONString(v) {
		return v.Str
	}
	return AppendCanonText(dst, v)
}

// AppendCanonText appends v as a key or bucket name: a string's content,
// other values as canonical JSON, so key_field and key_mapping name the
// same value alike.
func AppendCanonText(dst []byte, v *Value) []byte {
	if isJSONString(v) {
		return append(dst, v.Str...)
	}
	if v.IsNum {
		if b, ok := appendCanonNumber(dst, v.JSON); ok {
			return b
		}
	}
	return appendCanonJSON(dst, v.JSON)
}

func isJSONString(v *Value) bool { return len(v.JSON) > 0 && v.JSON[0] == '"' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendCanonNumber appends the canonical spelling of the JSON number num:
// the shortest decimal of its exact value, as JavaScript prints numbers
// (100, 1.5, 0.001, 1e+21 style exponents beyond 21 digits or below 1e-6).
// ok is false if num is not a JSON number.
func appendCanonNumber(dst, num []byte) ([]byte, bool) {
	i := 0
	neg := false
	if i < len(num) && num[i] == '-' {
		neg = true
		i++
	}
	// Mantissa digits without leading zeros, and the decimal exponent.
	var digits [40]byte
	mant := digits[:0]
	exp := 0
	sawDigit := false
	for ; i < len(num) && isDigit(num[i]); i++ {
		sawDigit = true
		if len(mant) == 0 && num[i] == '0' {
			continue
		}
		if len(mant) < cap(mant) {
			mant = append(mant, num[i])
		} else {
			exp++ // beyond 40 digits: the rest only scale the value
		}
	}
	if i < len(num) && num[i] == '.' {
		i++
		for ; i < len(num) && isDigit(num[i]); i++ {
			sawDigit = true
			if len(mant) == 0 && num[i] == '0' {
				exp--
				continue
			}
			if len(mant) < cap(mant) {
				mant = append(mant, num[i])
				exp--
			}
		}
	}
	if !sawDigit {
		return dst, false
	}
	if i < len(num) && (num[i] == 'e' || num[i] == 'E') {
		i++
		eneg := false
		if i < len(num) && (num[i] == '+' || num[i] == '-') {
			eneg = num[i] == '-'
			i++
		}
		e := 0
		start := i
		for ; i < len(num) && isDigit(num[i]); i++ {
			if e < 1e9 {
				e = e*10 + int(num[i]-'0')
			}
		}
		if i == start {
			return dst, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if i != len(num) {
		return dst, false
	}
	for len(mant) > 0 && mant[len(mant)-1] == '0' {
		mant = mant[:len(mant)-1]
		exp++
	}
	if len(mant) == 0 {
		return append(dst, '0'), true // -0 is 0
	}
	if neg {
		dst = append(dst, '-')
	}
	n := len(mant)
	point := n + exp // digits before the decimal point
	switch {
	case exp >= 0 && point <= 21:
		dst = append(dst, mant...)
		for range exp {
			dst = append(dst, '0')
		}
	case point > 0 && exp < 0:
		dst = append(dst, mant[:point]...)
		dst = append(dst, '.')
		dst = append(dst, mant[point:]...)
	case point <= 0 && point > -6:
		dst = append(dst, '0', '.')
		for range -point {
			dst = append(dst, '0')
		}
		dst = append(dst, mant...)
	default:
		dst = append(dst, mant[0])
		if n > 1 {
			dst = append(dst, '.')
			dst = append(dst, mant[1:]...)
		}
		dst = append(dst, 'e')
		if point-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(point-1), 10)
	}
	return dst, true
}

// appendCanonJSON appends the canonical JSON of the JSON text raw: object
// members sorted by name (the last of a repeated name, as encoding/json
// keeps), numbers as appendCanonNumber, strings re-encoded. Text that is
// not JSON is appended as it is.
func appendCanonJSON(dst, raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return append(dst, raw...)
	}
	return appendCanonValue(dst, v)
}

func appendCanonValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		return strconv.AppendBool(dst, x)
	case string:
		return appendJSONString(dst, x)
	case json.Number:
		if b, ok := appendCanonNumber(dst, []byte(x)); ok {
			return b
		}
		return append(dst, x...)
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonValue(dst, e)
		}
		return append(dst, ']')
	case map[string]any:
		names := make([]string, 0, len(x))
		for k := range x {
			names = append(names, k)
		}
		sort.Strings(names)
		dst = append(dst, '{')
		for i, k := range names {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, k)
			dst = append(dst, ':')
			dst = appendCanonValue(dst, x[k])
		}
		return append(dst, '}')
	}
	b, _ := json.Marshal(v)
	return append(dst, b...)
}
