package trackapi

import (
	"bytes"
	"strconv"
	"strings"
)

// loneSurrogates finds JSON strings holding a \uD800-\uDFFF escape that is
// not half of a surrogate pair. encoding/json (and so every decoder in this
// project) silently turns one into U+FFFD, which would put a different
// user_id than the client sent into the event and the Kafka key. raw must
// already be known to be valid JSON. It returns the path of each such value
// (or of the object holding such a key) in the validate package's notation:
// "user_id", "metadata.page", "[2].user_id", "$" for the document itself.
func loneSurrogates(raw []byte) []string {
	if !bytes.Contains(raw, []byte(`\u`)) {
		return nil
	}
	s := &pathScanner{raw: raw}
	s.value("$")
	return s.found
}

type pathScanner struct {
	raw   []byte
	i     int
	found []string
}

func (s *pathScanner) skipSpace() {
	for s.i < len(s.raw) {
		switch s.raw[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans the value at s.i, whose path is path.
func (s *pathScanner) value(path string) {
	s.skipSpace()
	if s.i >= len(s.raw) {
		return
	}
	switch s.raw[s.i] {
	case '{':
		s.i++
		for {
			s.skipSpace()
			if s.i >= len(s.raw) || s.raw[s.i] == '}' {
				s.i++
				return
			}
			if s.raw[s.i] == ',' {
				s.i++
				continue
			}
			key, lone := s.str()
			if lone {
				s.found = append(s.found, path)
			}
			s.skipSpace()
			s.i++ // ':'
			s.value(joinPath(path, key))
		}
	case '[':
		s.i++
		for n := 0; ; {
			s.skipSpace()
			if s.i >= len(s.raw) || s.raw[s.i] == ']' {
				s.i++
				return
			}
			if s.raw[s.i] == ',' {
				s.i++
				continue
			}
			s.value(indexPath(path, n))
			n++
		}
	case '"':
		if _, lone := s.str(); lone {
			s.found = append(s.found, path)
		}
	default: // number, true, false, null
		for s.i < len(s.raw) && !strings.ContainsRune(",]} \t\r\n", rune(s.raw[s.i])) {
			s.i++
		}
	}
}

// str scans the string at s.i and returns its text (surrogate escapes kept
// as written; used for paths only) and whether it holds a lone surrogate.
func (s *pathScanner) str() (string, bool) {
	start := s.i + 1
	s.i++
	lone := false
	pendingHigh := false // the previous escape was a high surrogate
	for s.i < len(s.raw) {
		c := s.raw[s.i]
		if c == '"' {
			break
		}
		if c != '\\' {
			if pendingHigh {
				lone = true
				pendingHigh = false
			}
			s.i++
			continue
		}
		if s.i+1 < len(s.raw) && s.raw[s.i+1] == 'u' && s.i+6 <= len(s.raw) {
			r, err := strconv.ParseUint(string(s.raw[s.i+2:s.i+6]), 16, 32)
			s.i += 6
			if err != nil {
				continue
			}
			switch {
			case r >= 0xD800 && r <= 0xDBFF:
				if pendingHigh {
					lone = true
				}
				pendingHigh = true
			case r >= 0xDC00 && r <= 0xDFFF:
				if !pendingHigh {
					lone = true
				}
				pendingHigh = false
			default:
				if pendingHigh {
					lone = true
				}
				pendingHigh = false
			}
			continue
		}
		if pendingHigh {
			lone = true
			pendingHigh = false
		}
		s.i += 2
	}
	if pendingHigh {
		lone = true
	}
	text := string(s.raw[start:min(s.i, len(s.raw))])
	s.i++ // closing quote
	if !lone && strings.Contains(text, `\`) {
		if u, err := strconv.Unquote(`"` + text + `"`); err == nil {
			text = u
		}
	}
	return text, lone
}

// joinPath and indexPath write paths as plugins/validate does, so a lone
// surrogate is reported at the same path as any other violation of the field.
func joinPath(parent, key string) string {
	if parent == "$" {
		parent = ""
	}
	if key == "" || strings.ContainsAny(key, `.[]"`) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	if parent == "$" {
		parent = ""
	}
	return parent + "[" + strconv.Itoa(i) + "]"
}
