package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxDepth bounds nesting so a hostile payload cannot exhaust the stack of
// the recursive decoder and checkers.
const maxDepth = 128

// Decode parses a payload into map[string]any / []any / json.Number / string
// / bool / nil, reporting what makes it unacceptable as a JSON document:
// size, invalid UTF-8 (encoding/json would silently replace it), syntax and
// duplicated object keys (encoding/json would silently keep the last one,
// so two producers could disagree about the value).
func Decode(raw []byte, maxBytes int) (any, Violations) {
	if maxBytes > 0 && len(raw) > maxBytes {
		return nil, Violations{{rootPath, RuleMaxBytes, fmt.Sprintf("payload is %d bytes, more than max_bytes %d", len(raw), maxBytes)}}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, Violations{{rootPath, RuleJSON, "not JSON: empty payload"}}
	}
	if !utf8.Valid(raw) {
		return nil, Violations{{rootPath, RuleUTF8, fmt.Sprintf("invalid UTF-8 at byte %d", firstInvalidUTF8(raw))}}
	}
	d := &decoder{dec: json.NewDecoder(bytes.NewReader(raw))}
	d.dec.UseNumber()
	v, err := d.value(rootPath, 0)
	if err == nil {
		if _, terr := d.dec.Token(); terr != io.EOF {
			err = errors.New("unexpected data after the top-level value")
		}
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = errors.New("unexpected end of input (truncated)")
		}
		var de depthError
		if errors.As(err, &de) {
			return nil, Violations{{string(de), RuleDepth, fmt.Sprintf("nested deeper than %d levels", maxDepth)}}
		}
		return nil, append(d.dups, Violation{rootPath, RuleJSON, "not JSON: " + err.Error()})
	}
	return v, d.dups
}

type depthError string

func (d depthError) Error() string { return "too deep at " + string(d) }

type decoder struct {
	dec  *json.Decoder
	dups Violations
}

func (d *decoder) value(path string, depth int) (any, error) {
	if depth > maxDepth {
		return nil, depthError(path)
	}
	tok, err := d.dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return d.object(path, depth)
		case '[':
			return d.array(path, depth)
		}
		return nil, fmt.Errorf("unexpected %q", rune(t))
	default:
		return t, nil
	}
}

func (d *decoder) object(path string, depth int) (any, error) {
	obj := map[string]any{}
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("object key is not a string")
		}
		child := joinPath(path, key)
		v, err := d.value(child, depth+1)
		if err != nil {
			return nil, err
		}
		if _, dup := obj[key]; dup {
			d.dups = append(d.dups, Violation{child, RuleDuplicateKey, "duplicated key"})
		}
		obj[key] = v
	}
	_, err := d.dec.Token() // '}'
	return obj, err
}

func (d *decoder) array(path string, depth int) (any, error) {
	arr := []any{}
	for i := 0; d.dec.More(); i++ {
		v, err := d.value(indexPath(path, i), depth+1)
		if err != nil {
			return nil, err
		}
		arr = append(arr, v)
	}
	_, err := d.dec.Token() // ']'
	return arr, err
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}
