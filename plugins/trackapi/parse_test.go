package trackapi

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/streamkit/pipeline/plugins/validate"
)

const testSchema = `
fields:
  event_type: { type: enum, values: [ click, scroll ] }
  user_id: { type: string, min_length: 1 }
  timestamp: { type: timestamp }
`

func testParser(t *testing.T) *parser {
	t.Helper()
	spec, err := validate.ParseSpec([]byte(testSchema))
	if err != nil {
		t.Fatal(err)
	}
	return &parser{spec: spec, keyField: "user_id", maxEvents: 3,
		now: func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }}
}

func paths(vs validate.Violations) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Path+" "+v.Rule)
	}
	return out
}

func TestParseAcceptsOneEventAnArrayAndALeadingBOM(t *testing.T) {
	p := testParser(t)
	one := `{"event_type":"click", "user_id":"u1","timestamp":"2025-01-01T00:00:00"}`
	for _, body := range []string{one, "\xEF\xBB\xBF" + one} {
		req, vs := p.parse([]byte(body))
		if len(vs) > 0 || req.array || len(req.events) != 1 {
			t.Fatalf("%q: %+v %v", body, req, vs)
		}
		if got := string(req.events[0].value); got != `{"event_type":"click","user_id":"u1","timestamp":"2025-01-01T00:00:00"}` || req.events[0].key != "u1" {
			t.Fatalf("%q: value %s key %q", body, got, req.events[0].key)
		}
	}
	req, vs := p.parse([]byte("[" + one + ",\n" + one + "]"))
	if len(vs) > 0 || !req.array || len(req.events) != 2 {
		t.Fatalf("array: %+v %v", req, vs)
	}
}

func TestParseNamesTheFieldOfALoneSurrogate(t *testing.T) {
	p := testParser(t)
	cases := map[string][]string{
		`{"event_type":"click","user_id":"u\ud800","timestamp":"2025-01-01T00:00:00"}`:                     {"user_id lone_surrogate"},
		`{"event_type":"click","user_id":"u\udc00x","timestamp":"2025-01-01T00:00:00"}`:                    {"user_id lone_surrogate"},
		`{"event_type":"click","user_id":"\ud800\ud800","timestamp":"2025-01-01T00:00:00"}`:                {"user_id lone_surrogate"},
		`{"event_type":"click","user_id":"u1","timestamp":"2025-01-01T00:00:00","m":{"a":["x","\ud83d"]}}`: {"m.a[1] lone_surrogate"},
		`[{"event_type":"click","user_id":"ok","timestamp":"2025-01-01T00:00:00"},{"u\ud800":1}]`:          {"[1] lone_surrogate"},
	}
	for body, want := range cases {
		_, vs := p.parse([]byte(body))
		if got := paths(vs); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
	// A real pair is a character, not an error.
	if _, vs := p.parse([]byte(`{"event_type":"click","user_id":"\ud83d\ude00 \"q\" \\u","timestamp":"2025-01-01T00:00:00"}`)); len(vs) > 0 {
		t.Fatalf("surrogate pair rejected: %v", vs)
	}
}

func TestParseReportsViolationsAtTheClientsPaths(t *testing.T) {
	p := testParser(t)
	cases := map[string][]string{
		`{"event_type":"hover","timestamp":"2025-01-01T00:00:00"}`:                                  {"event_type enum", "user_id required"},
		`[{"event_type":"click","user_id":"a","timestamp":"2025-01-01T00:00:00"},7,{"user_id":""}]`: {"[1] type", "[2].event_type required", "[2].user_id min_length", "[2].timestamp required"},
		`[]`:            {"$ min_length"},
		`[{},{},{},{}]`: {"$ max_length"},
		`{"a":1`:        {"$ json"},
	}
	for body, want := range cases {
		_, vs := p.parse([]byte(body))
		if got := paths(vs); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", body, got, want)
		}
	}
}

func TestFastAPIShapeOfViolations(t *testing.T) {
	got, _ := json.Marshal(toFastAPI(validate.Violations{
		{Path: "user_id", Rule: validate.RuleRequired, Message: "required"},
		{Path: "[2].metadata.page", Rule: validate.RuleType, Message: "expected string, got number (5)"},
		{Path: `a["x.y"][0]`, Rule: "max_future", Message: "m"},
		{Path: "$", Rule: validate.RuleJSON, Message: "not JSON"},
	}))
	want := `[{"loc":["body","user_id"],"msg":"Field required","type":"missing"},` +
		`{"loc":["body",2,"metadata","page"],"msg":"expected string, got number (5)","type":"type_error"},` +
		`{"loc":["body","a","x.y",0],"msg":"m","type":"max_future"},` +
		`{"loc":["body"],"msg":"not JSON","type":"json_invalid"}]`
	if string(got) != want {
		t.Fatalf("\n got %s\nwant %s", got, want)
	}
}

func TestKeyStoreForgetsByAgeAndCount(t *testing.T) {
	now := time.Unix(0, 0)
	s := newKeyStore(time.Minute, 3, func() time.Time { return now })
	a := newAttempt(nil, nil, [32]byte{})
	if _, fresh := s.getOrPut("k1", a); !fresh {
		t.Fatal("k1 not fresh")
	}
	if got, fresh := s.getOrPut("k1", newAttempt(nil, nil, [32]byte{1})); fresh || got != a {
		t.Fatal("k1 forgotten at once")
	}
	now = now.Add(2 * time.Minute)
	if _, fresh := s.getOrPut("k1", a); !fresh {
		t.Fatal("k1 kept past its ttl")
	}
	for _, k := range []string{"k2", "k3", "k4"} {
		s.getOrPut(k, newAttempt(nil, nil, [32]byte{}))
	}
	if _, fresh := s.getOrPut("k1", a); !fresh {
		t.Fatal("the oldest key kept beyond max")
	}
	if _, fresh := s.getOrPut("k4", a); fresh {
		t.Fatal("a young key forgotten")
	}
}
