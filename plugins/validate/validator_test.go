package validate

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 6, 27, 16, 0, 0, 0, time.UTC)

const seedEvent = `{"event_type": "page_view", "user_id": "e659e3e7-22e1-4a6b", "action": "alternative_handset", "timestamp": "2024-06-27T15:43:43.315342", "metadata": {"session_id": "4b481fd1-9973-4498-89fb", "page": "/search", "item_id": "05efee91", "user_agent": "Opera/8.81..."}}`

func clickstream(t testing.TB) *Validator {
	t.Helper()
	src, err := os.ReadFile("schemas/clickstream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := ParseSpec(src)
	if err != nil {
		t.Fatal(err)
	}
	return &Validator{Typed: spec, MaxBytes: DefaultMaxBytes, Now: func() time.Time { return testNow }}
}

func typed(t *testing.T, src string) *Validator {
	t.Helper()
	spec, err := ParseSpec([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return &Validator{Typed: spec, Now: func() time.Time { return testNow }}
}

func rules(vs Violations) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Path+":"+v.Rule)
	}
	return out
}

func TestSeedEventPassesUnchanged(t *testing.T) {
	res := clickstream(t).Validate([]byte(seedEvent))
	if len(res.Violations) != 0 || res.Out != nil {
		t.Fatalf("seed event: violations %v, out %s", res.Violations, res.Out)
	}
}

func TestEveryViolationIsReportedInSchemaOrder(t *testing.T) {
	res := clickstream(t).Validate([]byte(`{"event_type": "login", "action": "", "timestamp": "yesterday", "metadata": {"page": 3}}`))
	want := []string{"event_type:enum", "user_id:required", "action:min_length", "timestamp:timestamp", "metadata.page:type"}
	if got := rules(res.Violations); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	msg := res.Violations.Error()
	for _, part := range []string{`user_id: required`, `timestamp: not a timestamp ("yesterday")`, `metadata.page: expected string, got number (3)`} {
		if !strings.Contains(msg, part) {
			t.Errorf("error %q lacks %q", msg, part)
		}
	}
	var decoded []Violation
	if err := json.Unmarshal([]byte(res.Violations.JSON()), &decoded); err != nil || len(decoded) != 5 || decoded[1].Rule != "required" {
		t.Fatalf("validation_errors JSON %s: %v", res.Violations.JSON(), err)
	}
}

func TestMaxFutureUsesInjectedClock(t *testing.T) {
	v := clickstream(t)
	ev := func(ts string) []byte {
		return []byte(`{"event_type":"click","user_id":"u","action":"a","timestamp":"` + ts + `"}`)
	}
	if res := v.Validate(ev("2024-06-27T16:59:00Z")); len(res.Violations) != 0 {
		t.Fatalf("59 min ahead is within max_future 1h: %v", res.Violations)
	}
	res := v.Validate(ev("2024-06-27T17:00:01Z"))
	if got := rules(res.Violations); !reflect.DeepEqual(got, []string{"timestamp:max_future"}) {
		t.Fatalf("got %v", got)
	}
	v.Now = func() time.Time { return testNow.Add(2 * time.Hour) }
	if res := v.Validate(ev("2024-06-27T17:00:01Z")); len(res.Violations) != 0 {
		t.Fatalf("with the clock two hours later the event is fine: %v", res.Violations)
	}
}

func TestNormalizeRewritesTimestampsToRFC3339UTC(t *testing.T) {
	v := typed(t, "fields:\n  ts: {type: timestamp}\n  n: {type: int}\n")
	v.Normalize = true
	res := v.Validate([]byte(`{"ts": "2024-06-27T17:43:43.315342+02:00", "n": 12345678901234567890}`))
	if len(res.Violations) != 0 {
		t.Fatal(res.Violations)
	}
	if got := string(res.Out); got != `{"n":12345678901234567890,"ts":"2024-06-27T15:43:43.315342Z"}` {
		t.Fatalf("normalised to %s", got)
	}
	if res := v.Validate([]byte(`{"ts": "2024-06-27T15:43:43.315342Z", "n": 1}`)); res.Out != nil {
		t.Fatalf("already normal payload was rewritten: %s", res.Out)
	}
	res = v.Validate([]byte(`{"ts": 1719503023000, "n": 1}`))
	if !strings.Contains(string(res.Out), `"ts":"2024-06-27T15:43:43Z"`) {
		t.Fatalf("epoch ms normalised to %s", res.Out)
	}
}

func TestUnknownFieldPolicies(t *testing.T) {
	doc := []byte(`{"a": "x", "zz": 1, "b": 2}`)
	allow := typed(t, "fields:\n  a: {type: string}\n")
	if res := allow.Validate(doc); len(res.Violations) != 0 || res.Out != nil {
		t.Fatalf("allow: %v %s", res.Violations, res.Out)
	}
	reject := typed(t, "unknown_fields: reject\nfields:\n  a: {type: string}\n")
	if got := rules(reject.Validate(doc).Violations); !reflect.DeepEqual(got, []string{"b:unknown_field", "zz:unknown_field"}) {
		t.Fatalf("reject: %v", got)
	}
	strip := typed(t, "unknown_fields: strip\nfields:\n  a: {type: string}\n")
	if res := strip.Validate(doc); string(res.Out) != `{"a":"x"}` {
		t.Fatalf("strip: %s %v", res.Out, res.Violations)
	}
}

func TestFieldRules(t *testing.T) {
	v := typed(t, `
fields:
  n:     {type: int, min: 1, max: 10}
  f:     {type: float, max: 1.5}
  b:     {type: bool}
  s:     {type: string, pattern: '^[a-z]+$', max_length: 3}
  opt:   {type: string, required: false}
  null:  {type: string, nullable: true}
  tags:  {type: array, max_length: 2, items: {type: string}}
  obj:
    type: object
    unknown_fields: reject
    fields:
      inner: {type: float, min: 0}
`)
	cases := []struct {
		doc  string
		want []string
	}{
		{`{"n": 5, "f": 1, "b": true, "s": "ab", "null": null, "tags": ["x"], "obj": {"inner": 0}}`, []string{}},
		{`{"n": 0, "f": 2, "b": "true", "s": "ABCD", "null": 1, "tags": ["x", 2, "z"], "obj": {"inner": -1, "x": 1}}`,
			[]string{"n:min", "f:max", "b:type", "s:max_length", "s:pattern", "null:type", "tags:max_length", "tags[1]:type", "obj.inner:min", "obj.x:unknown_field"}},
		{`{"n": 1.5, "f": "1", "b": null, "s": null, "null": null, "tags": {}, "obj": []}`,
			[]string{"n:type", "f:type", "b:nullable", "s:nullable", "tags:type", "obj:type"}},
		{`{"n": 11, "f": 1e400, "b": false, "s": "a", "null": "x", "tags": [], "obj": {"inner": 1}}`,
			[]string{"n:max", "f:type"}},
	}
	for _, c := range cases {
		if got := rules(v.Validate([]byte(c.doc)).Violations); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s:\n got  %v\n want %v", c.doc, got, c.want)
		}
	}
}

func TestPayloadLevelViolations(t *testing.T) {
	v := clickstream(t)
	v.MaxBytes = 64
	cases := map[string]string{
		"":                   "$:json",
		"  \n":               "$:json",
		`{"event_type": "cl`: "$:json",
		`{"a":1} {"b":2}`:    "$:json",
		"{\"a\":\"\xff\"}":   "$:utf8",
		`{"event_type": "click", "user_id": "u", "action": "a", "timestamp": "2024-06-27T15:43:43Z", "pad": "xxxxxxxx"}`: "$:max_bytes",
		`null`:     "$:nullable",
		`"string"`: "$:type",
	}
	for doc, want := range cases {
		got := rules(v.Validate([]byte(doc)).Violations)
		if len(got) != 1 || got[0] != want {
			t.Errorf("%q: got %v, want [%s]", doc, got, want)
		}
	}
}

func TestDuplicateKeysAreReportedAtEveryDepth(t *testing.T) {
	v := typed(t, "fields:\n  a: {type: any}\n")
	res := v.Validate([]byte(`{"a": {"x": 1, "x": 2}, "a": 3, "l": [{"k":1,"k":1}]}`))
	want := []string{"a.x:duplicate_key", "a:duplicate_key", "l[0].k:duplicate_key"}
	if got := rules(res.Violations); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestDeepNestingIsAViolationNotACrash(t *testing.T) {
	v := typed(t, "fields:\n  a: {type: any, required: false}\n")
	doc := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	res := v.Validate([]byte(`{"a": ` + doc + `}`))
	if len(res.Violations) != 1 || res.Violations[0].Rule != RuleDepth {
		t.Fatalf("got %v", res.Violations)
	}
}

func TestSpecErrorsAreCaughtAtParseTime(t *testing.T) {
	bad := map[string]string{
		"fields:\n  a: {type: strin}\n":                         "unknown type",
		"fields:\n  a: {type: enum}\n":                          "enum needs values",
		"fields:\n  a: {type: array}\n":                         "array needs items",
		"fields:\n  a: {type: int, min: 5, max: 1}\n":           "greater than max",
		"fields:\n  a: {type: string, pattern: '('}\n":          "pattern",
		"fields:\n  a: {type: string, max_future: 1h}\n":        "only apply to timestamps",
		"fields:\n  a: {type: timestamp, max_future: soon}\n":   "max_future",
		"unknown_fields: maybe\nfields:\n  a: {type: string}\n": "unknown_fields",
		"fields:\n  a: {type: string, minlength: 1}\n":          "minlength",
		"fields:\n  a: {type: string}\n  a: {type: int}\n":      "a",
		"type: array\nitems: {type: int}\n":                     "top level must be an object",
	}
	for src, want := range bad {
		if _, err := ParseSpec([]byte(src)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want error containing %q", src, err, want)
		}
	}
}
