package window

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// The fast path (key_field, timestamp_field, aggregate field) reads values
// straight from the raw JSON bytes: it scans to the requested member and
// skips everything else without decoding it, so no structured copy of the
// message is built. It does not validate parts of the document it skips.

var errNotObject = errors.New("message is not a JSON object")

// splitPath turns "a.b.c" into its segments.
func splitPath(p string) []string { return strings.Split(p, ".") }

// lookup returns the raw JSON of the value at path, found=false if a member
// is absent (or an intermediate value is not an object).
func lookup(data []byte, path []string) (raw []byte, found bool, err error) {
	return lookupFrom(data, path, 0)
}

// lookupFrom is lookup for a document that is itself the value at depth
// `from` of the original path (only depth 0 reports errNotObject).
func lookupFrom(data []byte, path []string, from int) (raw []byte, found bool, err error) {
	cur := data
	for depth, seg := range path {
		i := skipWS(cur, 0)
		if i >= len(cur) || cur[i] != '{' {
			if from+depth == 0 {
				return nil, false, errNotObject
			}
			return nil, false, nil
		}
		v, ok, err := member(cur, i, seg)
		if err != nil || !ok {
			return nil, false, err
		}
		cur = v
	}
	return cur, true, nil
}

// member finds key in the object starting at data[i] == '{'.
func member(data []byte, i int, key string) ([]byte, bool, error) {
	i++
	for {
		i = skipWS(data, i)
		if i >= len(data) {
			return nil, false, errTruncated
		}
		if data[i] == '}' {
			return nil, false, nil
		}
		if data[i] == ',' {
			i++
			continue
		}
		if data[i] != '"' {
			return nil, false, errSyntax(i)
		}
		ks := i
		ke, err := skipString(data, i)
		if err != nil {
			return nil, false, err
		}
		match := keyEquals(data[ks:ke], key)
		i = skipWS(data, ke)
		if i >= len(data) || data[i] != ':' {
			return nil, false, errSyntax(i)
		}
		i = skipWS(data, i+1)
		ve, err := skipValue(data, i)
		if err != nil {
			return nil, false, err
		}
		if match {
			return data[i:ve], true, nil
		}
		i = ve
	}
}

// fieldRes is the outcome of one lookup.
type fieldRes struct {
	raw   []byte
	found bool
	err   error
}

// fieldSet resolves several paths with one scan of the top-level object
// instead of one scan per path. Each result is exactly what lookup would
// return for that path: a member is the first one with that name, and the
// scan stops as soon as every first segment is resolved, so it reads no
// further than the individual lookups would have (errors in the skipped
// part of the document stay unreported, as before).
type fieldSet struct {
	paths   [][]string // distinct paths, each with at least one segment
	tops    []string   // distinct first segments
	pathTop []int      // paths[i][0] == tops[pathTop[i]]
	topRes  []fieldRes
	res     []fieldRes // per path, filled by scan
}

// add registers path and returns its index in res.
func (f *fieldSet) add(path []string) int {
	for i, p := range f.paths {
		if slices.Equal(p, path) {
			return i
		}
	}
	t := slices.Index(f.tops, path[0])
	if t < 0 {
		t = len(f.tops)
		f.tops = append(f.tops, path[0])
		f.topRes = append(f.topRes, fieldRes{})
	}
	f.paths = append(f.paths, path)
	f.pathTop = append(f.pathTop, t)
	f.res = append(f.res, fieldRes{})
	return len(f.paths) - 1
}

// scan fills res for data. Slices in res alias data.
func (f *fieldSet) scan(data []byte) {
	f.scanTop(data)
	for i, p := range f.paths {
		top := f.topRes[f.pathTop[i]]
		if top.err != nil || !top.found || len(p) == 1 {
			f.res[i] = top
			continue
		}
		raw, found, err := lookupFrom(top.raw, p[1:], 1)
		f.res[i] = fieldRes{raw: raw, found: found, err: err}
	}
}

// scanTop is member for every first segment at once.
func (f *fieldSet) scanTop(data []byte) {
	for j := range f.topRes {
		f.topRes[j] = fieldRes{}
	}
	fail := func(err error) {
		for j := range f.topRes {
			if !f.topRes[j].found {
				f.topRes[j].err = err
			}
		}
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		fail(errNotObject)
		return
	}
	left := len(f.tops)
	i++
	for left > 0 {
		i = skipWS(data, i)
		if i >= len(data) {
			fail(errTruncated)
			return
		}
		if data[i] == '}' {
			return // the rest are absent
		}
		if data[i] == ',' {
			i++
			continue
		}
		if data[i] != '"' {
			fail(errSyntax(i))
			return
		}
		ks := i
		ke, err := skipString(data, i)
		if err != nil {
			fail(err)
			return
		}
		quoted := data[ks:ke]
		i = skipWS(data, ke)
		if i >= len(data) || data[i] != ':' {
			fail(errSyntax(i))
			return
		}
		i = skipWS(data, i+1)
		ve, err := skipValue(data, i)
		if err != nil {
			fail(err)
			return
		}
		// An escape-free name (the usual case) is compared directly;
		// keyEquals decodes the others.
		inner := quoted[1 : len(quoted)-1]
		plain := bytes.IndexByte(inner, '\\') < 0
		for j, key := range f.tops {
			if f.topRes[j].found {
				continue
			}
			if plain && string(inner) == key || !plain && keyEquals(quoted, key) {
				f.topRes[j] = fieldRes{raw: data[i:ve], found: true}
				left--
			}
		}
		i = ve
	}
}

var errTruncated = errors.New("invalid JSON: unexpected end of input")

func errSyntax(at int) error {
	return errors.New("invalid JSON: unexpected character at offset " + strconv.Itoa(at))
}

func keyEquals(quoted []byte, key string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == key
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return false
	}
	return s == key
}

func skipWS(d []byte, i int) int {
	for i < len(d) && (d[i] == ' ' || d[i] == '\n' || d[i] == '\t' || d[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at d[i] == '"'.
func skipString(d []byte, i int) (int, error) {
	for j := i + 1; j < len(d); j++ {
		switch d[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errTruncated
}

// skipValue returns the index just past the value starting at d[i].
func skipValue(d []byte, i int) (int, error) {
	if i >= len(d) {
		return 0, errTruncated
	}
	switch d[i] {
	case '"':
		return skipString(d, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(d); j++ {
			switch d[j] {
			case '"':
				e, err := skipString(d, j)
				if err != nil {
					return 0, err
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errTruncated
	default:
		j := i
		for j < len(d) {
			c := d[j]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\n' || c == '\t' || c == '\r' {
				break
			}
			j++
		}
		if j == i {
			return 0, errSyntax(i)
		}
		return j, nil
	}
}

// rawValue converts raw JSON to an aggregate input without allocating for
// numbers and escape-free strings.
func rawValue(raw []byte, found bool, v *Value) error {
	*v = Value{}
	if !found || len(raw) == 0 {
		return nil
	}
	switch c := raw[0]; {
	case c == 'n':
		if string(raw) != "null" {
			return errSyntax(0)
		}
		return nil
	case c == '"':
		v.Present, v.JSON = true, raw
		inner := raw[1 : len(raw)-1]
		if bytes.IndexByte(inner, '\\') < 0 {
			v.Str = inner
			return nil
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		v.Str = []byte(s)
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return errors.New("invalid JSON number " + strconv.Quote(string(raw)))
		}
		v.Present, v.IsNum, v.Num, v.JSON, v.Str = true, true, f, raw, raw
	default:
		v.Present, v.JSON, v.Str = true, raw, raw
	}
	return nil
}
