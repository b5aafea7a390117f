package window

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/streamkit/pipeline/plugins/window/engine"
)

// The fast path (key_field, timestamp_field, aggregate field) reads values
// straight from the raw JSON bytes without building a structured copy of the
// message. It reads the whole document and rejects what encoding/json (and
// so Bloblang's `this`) rejects, and when an object has a name twice the
// last member counts, as with encoding/json: a field read here and the same
// field read by a mapping are the same value (see FuzzFieldMatchesEncodingJSON).

var errNotObject = errors.New("message is not a JSON object")

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

// splitPath turns "a.b.c" into its segments.
func splitPath(p string) []string { return strings.Split(p, ".") }

// lookup returns the raw JSON of the value at path, found=false if a member
// is absent (or an intermediate value is not an object). The document must
// be one valid JSON object.
func lookup(data []byte, path []string) (raw []byte, found bool, err error) {
	var f fieldSet
	f.add(path)
	f.scan(data)
	r := f.res[0]
	return r.raw, r.found, r.err
}

// lookupIn is lookup for a value that has already been validated (a member
// of a scanned document): it only walks it.
func lookupIn(data []byte, path []string) (raw []byte, found bool) {
	cur := data
	for _, seg := range path {
		if len(cur) == 0 || cur[0] != '{' {
			return nil, false
		}
		v, ok := lastMember(cur, seg)
		if !ok {
			return nil, false
		}
		cur = v
	}
	return cur, true
}

// lastMember returns the value of the last member named key of the valid
// object data (data[0] == '{').
func lastMember(data []byte, key string) ([]byte, bool) {
	var found []byte
	ok := false
	i := 1
	for {
		i = skipWS(data, i)
		if data[i] == '}' {
			return found, ok
		}
		if data[i] == ',' {
			i = skipWS(data, i+1)
		}
		ks := i
		ke, _, _ := scanString(data, i)
		i = skipWS(data, ke)
		i = skipWS(data, i+1) // ':'
		ve, _ := skipValue(data, i, 0)
		if nameEquals(data[ks:ke], key) {
			found, ok = data[i:ve], true
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

// fieldSet resolves several paths with one scan of the document instead of
// one scan per path. The scan validates the whole document; if it is not
// one valid JSON object every path gets the error.
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
	if err := f.scanTop(data); err != nil {
		for i := range f.res {
			f.res[i] = fieldRes{err: err}
		}
		return
	}
	for i, p := range f.paths {
		top := f.topRes[f.pathTop[i]]
		if !top.found || len(p) == 1 {
			f.res[i] = top
			continue
		}
		raw, found := lookupIn(top.raw, p[1:])
		f.res[i] = fieldRes{raw: raw, found: found}
	}
}

// scanTop validates data as one JSON object and records the last member
// for every first segment.
func (f *fieldSet) scanTop(data []byte) error {
	for j := range f.topRes {
		f.topRes[j] = fieldRes{}
	}
	i := skipWS(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errNotObject
	}
	i++
	for first := true; ; first = false {
		i = skipWS(data, i)
		if i >= len(data) {
			return errTruncated
		}
		if data[i] == '}' && first {
			break
		}
		if !first {
			if data[i] == '}' {
				break
			}
			if data[i] != ',' {
				return errSyntax(i)
			}
			i = skipWS(data, i+1)
			if i >= len(data) {
				return errTruncated
			}
		}
		if data[i] != '"' {
			return errSyntax(i)
		}
		ks := i
		ke, plain, err := scanString(data, i)
		if err != nil {
			return err
		}
		i = skipWS(data, ke)
		if i >= len(data) {
			return errTruncated
		}
		if data[i] != ':' {
			return errSyntax(i)
		}
		i = skipWS(data, i+1)
		ve, err := skipValue(data, i, 1)
		if err != nil {
			return err
		}
		// A plain name (no escapes, ASCII: the usual case) is compared
		// directly; nameEquals decodes the others.
		inner := data[ks+1 : ke-1]
		for j, key := range f.tops {
			if plain && string(inner) == key || !plain && nameEquals(data[ks:ke], key) {
				f.topRes[j] = fieldRes{raw: data[i:ve], found: true}
			}
		}
		i = ve
	}
	if i = skipWS(data, i+1); i < len(data) {
		return errSyntax(i) // data after the object
	}
	return nil
}

var errTruncated = errors.New("invalid JSON: unexpected end of input")

func errSyntax(at int) error {
	return errors.New("invalid JSON: unexpected character at offset " + strconv.Itoa(at))
}

var errDepth = errors.New("invalid JSON: nested deeper than " + strconv.Itoa(maxDepth) + " levels")

// nameEquals compares a quoted member name, decoded as encoding/json
// decodes it, with key.
func nameEquals(quoted []byte, key string) bool {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
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

// scanString validates the string starting at d[i] == '"' and returns the
// index just past it; plain reports that it has no escapes and only ASCII,
// so its bytes are its value.
func scanString(d []byte, i int) (end int, plain bool, err error) {
	plain = true
	for j := i + 1; j < len(d); j++ {
		// Most bytes are plain ASCII: skip them with one table look-up each.
		for j < len(d) && plainByte[d[j]] {
			j++
		}
		if j >= len(d) {
			break
		}
		c := d[j]
		switch {
		case c == '"':
			return j + 1, plain, nil
		case c < 0x20:
			return 0, false, errSyntax(j) // control characters must be escaped
		case c >= 0x80:
			plain = false
		case c == '\\':
			plain = false
			j++
			if j >= len(d) {
				return 0, false, errTruncated
			}
			switch d[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if j+4 >= len(d) {
					return 0, false, errTruncated
				}
				for k := j + 1; k <= j+4; k++ {
					if !isHex(d[k]) {
						return 0, false, errSyntax(k)
					}
				}
				j += 4
			default:
				return 0, false, errSyntax(j)
			}
		}
	}
	return 0, false, errTruncated
}

// plainByte marks the bytes a string holds as they are: ASCII that is not
// a control character, a quote or a backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// skipValue validates the value starting at d[i] (depth: enclosing
// containers) and returns the index just past it.
func skipValue(d []byte, i, depth int) (int, error) {
	if i >= len(d) {
		return 0, errTruncated
	}
	switch c := d[i]; {
	case c == '"':
		e, _, err := scanString(d, i)
		return e, err
	case c == '{' || c == '[':
		if depth >= maxDepth {
			return 0, errDepth
		}
		return skipContainer(d, i, depth+1)
	case c == '-' || isDigit(c):
		return skipNumber(d, i)
	case c == 't':
		return skipLiteral(d, i, "true")
	case c == 'f':
		return skipLiteral(d, i, "false")
	case c == 'n':
		return skipLiteral(d, i, "null")
	}
	return 0, errSyntax(i)
}

func skipLiteral(d []byte, i int, lit string) (int, error) {
	for k := 0; k < len(lit); k++ {
		if i+k >= len(d) {
			return 0, errTruncated
		}
		if d[i+k] != lit[k] {
			return 0, errSyntax(i + k)
		}
	}
	return i + len(lit), nil
}

// skipNumber validates -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; what
// follows it is checked by the caller.
func skipNumber(d []byte, i int) (int, error) {
	j := i
	if d[j] == '-' {
		j++
	}
	digits := func() (int, error) {
		if j >= len(d) {
			return 0, errTruncated
		}
		if !isDigit(d[j]) {
			return 0, errSyntax(j)
		}
		for j < len(d) && isDigit(d[j]) {
			j++
		}
		return j, nil
	}
	if j < len(d) && d[j] == '0' {
		j++
	} else if _, err := digits(); err != nil {
		return 0, err
	}
	if j < len(d) && d[j] == '.' {
		j++
		if _, err := digits(); err != nil {
			return 0, err
		}
	}
	if j < len(d) && (d[j] == 'e' || d[j] == 'E') {
		j++
		if j < len(d) && (d[j] == '+' || d[j] == '-') {
			j++
		}
		if _, err := digits(); err != nil {
			return 0, err
		}
	}
	return j, nil
}

// skipContainer validates the object or array starting at d[i].
func skipContainer(d []byte, i, depth int) (int, error) {
	obj := d[i] == '{'
	closer := byte(']')
	if obj {
		closer = '}'
	}
	i++
	for first := true; ; first = false {
		i = skipWS(d, i)
		if i >= len(d) {
			return 0, errTruncated
		}
		if d[i] == closer && first {
			return i + 1, nil
		}
		if !first {
			if d[i] == closer {
				return i + 1, nil
			}
			if d[i] != ',' {
				return 0, errSyntax(i)
			}
			i = skipWS(d, i+1)
			if i >= len(d) {
				return 0, errTruncated
			}
		}
		if obj {
			if d[i] != '"' {
				return 0, errSyntax(i)
			}
			e, _, err := scanString(d, i)
			if err != nil {
				return 0, err
			}
			i = skipWS(d, e)
			if i >= len(d) {
				return 0, errTruncated
			}
			if d[i] != ':' {
				return 0, errSyntax(i)
			}
			i = skipWS(d, i+1)
		}
		e, err := skipValue(d, i, depth)
		if err != nil {
			return 0, err
		}
		i = e
	}
}

// rawValue converts raw JSON to an aggregate input without allocating for
// numbers and escape-free strings.
func rawValue(raw []byte, found bool, v *engine.Value) error {
	*v = engine.Value{}
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
		if bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
			v.Str = inner
			return nil
		}
		// Escapes, or bytes that are not UTF-8 (which encoding/json
		// replaces with U+FFFD): decode as a mapping would see it.
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		v.Str = []byte(s)
	case c == '-' || (c >= '0' && c <= '9'):
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			// The scan validated the syntax: the number is out of range,
			// which a mapping (json.Number.Float64) rejects as well.
			return errors.New("number " + strconv.Quote(string(raw)) + " is out of the float64 range")
		}
		v.Present, v.IsNum, v.Num, v.JSON, v.Str = true, true, f, raw, raw
	default:
		v.Present, v.JSON, v.Str = true, raw, raw
	}
	return nil
}
