package validate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzClickstream feeds arbitrary payloads to the decoder and the typed
// checker. Properties: no panic; a rejected payload always says why; an
// accepted payload is valid UTF-8 JSON and, once normalised, validates again
// unchanged (normalisation is idempotent).
func FuzzClickstream(f *testing.F) {
	f.Add([]byte(seedEvent))
	f.Add([]byte(`{"event_type":"click","user_id":"u","action":"a","timestamp":1719503023.5}`))
	f.Add([]byte(`{"a":{"a":[1,{"a":null}]},"a":"\u0000"}`))
	for _, it := range []string{"truncated.json", "duplicate_keys.json", "invalid_utf8.json", "wrong_types.json", "bad_timestamp.json"} {
		if b, err := os.ReadFile(filepath.Join("../../tests/corpus", it)); err == nil {
			f.Add(b)
		}
	}
	v := clickstream(f)
	v.Normalize = true
	f.Fuzz(func(t *testing.T, raw []byte) {
		res := v.Validate(raw)
		for _, vi := range res.Violations {
			if vi.Path == "" || vi.Rule == "" || vi.Message == "" {
				t.Fatalf("incomplete violation %+v", vi)
			}
		}
		if len(res.Violations) > 0 {
			if res.Out != nil {
				t.Fatal("invalid payload was rewritten")
			}
			return
		}
		if !utf8.Valid(raw) || !json.Valid(raw) {
			t.Fatalf("accepted non-JSON %q", raw)
		}
		if res.Out != nil {
			again := v.Validate(res.Out)
			if len(again.Violations) != 0 || again.Out != nil {
				t.Fatalf("normalised %s is not stable: %v %s", res.Out, again.Violations, again.Out)
			}
		}
	})
}
