package trackapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/streamkit/pipeline/plugins/validate"
)

// utf8BOM may lead a body: RFC 8259 §8.1 lets a parser ignore it, and some
// Windows tools write one.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// event is one accepted event: the record value as the client wrote it
// (compacted) and its Kafka key.
type event struct {
	value []byte
	key   string
}

// request is a parsed POST body.
type request struct {
	events []event
	array  bool // the body was a JSON array (the answer lists every user_id)
}

// parser checks bodies against the event schema. Paths in violations are the
// client's own: "user_id" for one event, "[2].user_id" for the third of an
// array, "$" for the body itself.
type parser struct {
	spec      *validate.Spec
	keyField  string
	maxEvents int
	now       func() time.Time
}

func (p *parser) parse(body []byte) (request, validate.Violations) {
	body = bytes.TrimPrefix(body, utf8BOM)
	doc, vs := validate.Decode(body, 0)
	if len(vs) > 0 {
		return request{}, vs
	}
	for _, path := range loneSurrogates(body) {
		vs = append(vs, validate.Violation{Path: path, Rule: ruleSurrogate,
			Message: "holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF without its pair), which is not a character"})
	}
	if len(vs) > 0 {
		return request{}, vs
	}
	now := p.now().UTC()
	items, isArray := doc.([]any)
	if !isArray {
		out, vs := p.event(doc, body, "", now)
		return request{events: []event{out}}, vs
	}
	switch {
	case len(items) == 0:
		return request{}, validate.Violations{{Path: "$", Rule: validate.RuleMinLength, Message: "0 items, fewer than min_length 1"}}
	case len(items) > p.maxEvents:
		return request{}, validate.Violations{{Path: "$", Rule: validate.RuleMaxLength,
			Message: fmt.Sprintf("%d items, more than max_length %d", len(items), p.maxEvents)}}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return request{}, validate.Violations{{Path: "$", Rule: validate.RuleJSON, Message: "not JSON: " + err.Error()}}
	}
	req := request{array: true, events: make([]event, len(items))}
	for i, item := range items {
		ev, evs := p.event(item, raws[i], fmt.Sprintf("[%d]", i), now)
		req.events[i] = ev
		vs = append(vs, evs...)
	}
	return req, vs
}

// event checks one decoded event; prefix is its path in the body.
func (p *parser) event(doc any, raw []byte, prefix string, now time.Time) (event, validate.Violations) {
	_, _, vs := p.spec.Check(doc, now, false)
	for i := range vs {
		vs[i].Path = under(prefix, vs[i].Path)
	}
	if len(vs) > 0 {
		return event{}, vs
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return event{}, validate.Violations{{Path: under(prefix, "$"), Rule: validate.RuleJSON, Message: "not JSON: " + err.Error()}}
	}
	key, _ := doc.(map[string]any)[p.keyField].(string)
	return event{value: buf.Bytes(), key: key}, nil
}

// under puts a violation path of one event below the event's own path.
func under(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "$":
		return prefix
	case strings.HasPrefix(path, "["):
		return prefix + path
	}
	return prefix + "." + path
}

// ruleSurrogate is the rule of a lone surrogate escape.
const ruleSurrogate = "lone_surrogate"
