package trackapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// builtin_schema clickstream is the main job's event schema; exactly one
// of schema, schema_file and builtin_schema is allowed, and lint says so.
func TestBuiltinSchemaIsTheMainJobsEvent(t *testing.T) {
	pc, err := spec().ParseYAML(`{ seed_brokers: [ x ], topic: t, key_field: user_id, builtin_schema: clickstream }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := schemaFrom(pc)
	if err != nil {
		t.Fatal(err)
	}
	check := func(doc string) int {
		var v any
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatal(err)
		}
		_, _, vs := s.Check(v, time.Date(2024, 6, 27, 16, 0, 0, 0, time.UTC), false)
		return len(vs)
	}
	if n := check(`{"event_type":"click","user_id":"u1","action":"view","timestamp":"2024-06-27T15:43:43"}`); n != 0 {
		t.Fatalf("a clickstream event fails the built-in schema with %d violations", n)
	}
	if n := check(`{"event_type":"hover","action":"view","timestamp":"2024-06-27T15:43:43"}`); n != 2 {
		t.Fatalf("%d violations, want the event_type and the missing user_id", n)
	}
	for conf, want := range map[string]string{
		`builtin_schema: nope`: "no built-in schema",
	} {
		pc, err := spec().ParseYAML(`{ seed_brokers: [ x ], topic: t, key_field: user_id, `+conf+` }`, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := schemaFrom(pc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", conf, err, want)
		}
	}
	err = service.NewStreamBuilder().AddInputYAML(`track_api: { seed_brokers: [ x ], topic: t, key_field: user_id, builtin_schema: clickstream, schema: "fields: {}" }`)
	if err == nil || !strings.Contains(err.Error(), "exclusive") {
		t.Errorf("lint with two schemas: %v, want them exclusive", err)
	}
}
