package tests

import "testing"

// The /track API validates with the main job's event schema, the one file
// plugins/validate/schemas/clickstream.yaml (builtin_schema clickstream),
// not a copy of it: an event the API accepts must pass the job.
func TestTrackAPISchemaIsTheClickstreamEvent(t *testing.T) {
	uses := componentConfigs(t, trackAPIConfig, "track_api")
	if len(uses) != 1 {
		t.Fatalf("%s has %d track_api inputs, want 1", trackAPIConfig, len(uses))
	}
	if got := uses[0]["builtin_schema"]; got != "clickstream" {
		t.Errorf("track_api.builtin_schema = %v, want clickstream (the main job's schema)", got)
	}
	for _, inline := range []string{"schema", "schema_file"} {
		if _, ok := uses[0][inline]; ok {
			t.Errorf("track_api has %s besides builtin_schema: a copy of the schema", inline)
		}
	}
}
