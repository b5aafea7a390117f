package window

import "testing"

// BenchmarkFieldSetScan is the fast path's per-message cost: one scan of a
// typical event for timestamp_field, key_field and an aggregate field.
func BenchmarkFieldSetScan(b *testing.B) {
	doc := []byte(`{"user_id":"user-0042","event_type":"view","page":"/p/3","timestamp":"2024-01-01T00:00:01.250000","session_id":"abc","device":{"os":"linux","screen":[1920,1080]},"props":{"ref":"https://example.com/a?b=c","n":12.5,"ok":true,"tags":["x","y"]}}`)
	var f fieldSet
	for _, p := range []string{"timestamp", "user_id", "event_type"} {
		f.add(splitPath(p))
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		f.scan(doc)
		if f.res[0].err != nil || !f.res[0].found {
			b.Fatal(f.res[0])
		}
	}
}
