package tests

import (
	"reflect"
	"testing"
)

// The /track API's event schema (the track_api input's `schema`) is the
// clickstream event of plugins/validate/schemas/clickstream.yaml, which the
// main job validates with too: an event the API accepts must pass the job.
func TestTrackAPISchemaIsTheClickstreamEvent(t *testing.T) {
	want := decodeYAML(t, readRepoFile(t, "plugins/validate/schemas/clickstream.yaml")).(map[string]any)
	conf := decodeYAML(t, readRepoFile(t, trackAPIConfig)).(map[string]any)
	src, ok := conf["input"].(map[string]any)["track_api"].(map[string]any)["schema"].(string)
	if !ok {
		t.Fatalf("%s has no input.track_api.schema", trackAPIConfig)
	}
	got := decodeYAML(t, src).(map[string]any)
	for _, k := range []string{"fields", "unknown_fields"} {
		if !reflect.DeepEqual(got[k], want[k]) {
			t.Errorf("%s: track_api %s differs from plugins/validate/schemas/clickstream.yaml:\n%v\n%v", trackAPIConfig, k, got[k], want[k])
		}
	}
}
