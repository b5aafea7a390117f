package window

import (
	"errors"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// mapping is a configured Bloblang mapping whose result is read as the value
// the mapping gave root. Reading the result back as a message (what
// BloblangQuery returns) re-parses a string result as JSON: the string "12"
// became the number 12 and the string "null" became null. So the mapping
// runs with one statement appended, `root = {"v": root}`, which keeps the
// value as Bloblang holds it.
type mapping struct {
	exec *bloblang.Executor // as configured (used if wrapped does not parse)
	// wrapped is exec with the statement appended, parsed in the global
	// Bloblang environment (where this project's and Benthos' functions
	// are registered); nil if it does not parse there.
	wrapped *bloblang.Executor
}

const wrapStatement = "\nroot = {\"v\": root}\n"

// parseMapping parses the Bloblang field at path.
func parseMapping(conf *service.ParsedConfig, path ...string) (*mapping, error) {
	exec, err := conf.FieldBloblang(path...)
	if err != nil {
		return nil, err
	}
	m := &mapping{exec: exec}
	if text, err := conf.FieldString(path...); err == nil {
		// A mapping that is a bare query (`this.k`) is one expression,
		// which the appended statement would turn into a syntax error.
		for _, t := range []string{text + wrapStatement, "root = " + text + wrapStatement} {
			if w, err := bloblang.Parse(t); err == nil {
				m.wrapped = w
				break
			}
		}
	}
	return m, nil
}

// value runs the mapping on msg. absent reports that root was deleted or
// never assigned; v is nil for null.
func (m *mapping) value(msg *service.Message) (v any, absent bool, err error) {
	if m.wrapped != nil {
		res, err := msg.BloblangQuery(m.wrapped)
		if err != nil {
			return nil, false, err
		}
		s, err := res.AsStructured()
		if err != nil {
			return nil, false, err
		}
		obj, ok := s.(map[string]any)
		if !ok {
			return nil, false, errors.New("mapping result is not the wrapped value")
		}
		v, ok := obj["v"]
		return v, !ok, nil
	}
	// Without the wrapper a string result can only be told from a
	// structured one by how the result message holds it; the string
	// "null" cannot be told from null.
	res, err := msg.BloblangQuery(m.exec)
	if err != nil {
		return nil, false, err
	}
	if res == nil {
		return nil, true, nil
	}
	if res.HasStructured() {
		s, err := res.AsStructured()
		return s, false, err
	}
	b, err := res.AsBytes()
	if err != nil {
		return nil, false, err
	}
	if string(b) == "null" {
		return nil, false, nil
	}
	return string(b), false, nil
}
