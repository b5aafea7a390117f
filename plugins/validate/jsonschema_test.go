package validate

import (
	"reflect"
	"strings"
	"testing"
)

const clickJSONSchema = `{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "required": ["event_type", "user_id", "action", "timestamp"],
  "additionalProperties": false,
  "properties": {
    "event_type": {"enum": ["page_view", "click", "scroll", "add_to_cart", "purchase"]},
    "user_id": {"type": "string", "minLength": 1},
    "action": {"type": "string"},
    "timestamp": {"type": "string", "format": "date-time"},
    "tags": {"type": "array", "items": {"type": "string"}}
  }
}`

func TestJSONSchemaReportsEveryViolation(t *testing.T) {
	js, err := CompileJSONSchema([]byte(clickJSONSchema))
	if err != nil {
		t.Fatal(err)
	}
	v := &Validator{Schema: js, MaxBytes: DefaultMaxBytes}
	if res := v.Validate([]byte(`{"event_type":"click","user_id":"u","action":"a","timestamp":"2024-06-27T15:43:43Z"}`)); len(res.Violations) != 0 {
		t.Fatalf("valid doc: %v", res.Violations)
	}
	res := v.Validate([]byte(`{"event_type":"login","user_id":"","timestamp":"yesterday","extra":1,"tags":["a",2]}`))
	got := rules(res.Violations)
	want := []string{"action:required", "event_type:enum", "extra:unknown_field", "tags[1]:type", "timestamp:format", "user_id:minLength"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if !strings.Contains(res.Violations.Error(), "action: required") {
		t.Fatalf("error text %q", res.Violations.Error())
	}
	// Payload-level checks apply to JSON Schema too.
	if got := rules(v.Validate([]byte(`{"user_id":"a","user_id":"b"}`)).Violations); got[0] != "user_id:duplicate_key" {
		t.Fatalf("duplicate key not reported first: %v", got)
	}
}

func TestJSONSchemaCompileErrorsAndNoRemoteRefs(t *testing.T) {
	if _, err := CompileJSONSchema([]byte(`{"type": 12}`)); err == nil {
		t.Fatal("invalid schema compiled")
	}
	if _, err := CompileJSONSchema([]byte(`{"$ref": "https://example.com/s.json"}`)); err == nil || !strings.Contains(err.Error(), "remote references are not allowed") {
		t.Fatalf("remote ref: %v", err)
	}
}
