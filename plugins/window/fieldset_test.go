package window

import (
	"bytes"
	"fmt"
	"testing"
)

// The one-pass fieldSet must give every path exactly what lookup gives it,
// including errors, on valid, truncated and malformed documents.
func TestFieldSetMatchesLookup(t *testing.T) {
	docs := []string{
		` { "a" : 1, "s":"x\"y", "skip":{"q":[1,{"r":"}"}]}, "n":{"b":{"c":"deep"}}, "esc\u0041":true, "nul":null }`,
		`{"user_id":"u1","timestamp":"2024-06-27T15:43:43Z","event_type":"view","metadata":{"page":"/a"},"profile":{"segment":"x"}}`,
		`{"a":1,"a":2,"n":3,"n":{"b":1}}`, `{"n":{"b":{"c":1}},"a":[1,2]}`, `[1]`, `"s"`, ``, `{}`, `{"a":1 "b":2}`,
		`{"a":1,"zz":}`, `{"a":1,"zz":{"x":"unterminated}`, `{"n":{"b":x}}`, `{"n":{"b"1}}`, `{"esc\"a":1,"a":2}`,
	}
	paths := []string{"a", "s", "n.b.c", "n.b", "escA", "nul", "missing", "a.b", "n.x", "user_id",
		"timestamp", "metadata.page", "profile.segment", "event_type", "n", "zz"}
	for _, d := range docs {
		// Every prefix: truncation hits each possible position.
		for cut := 0; cut <= len(d); cut++ {
			doc := []byte(d[:cut])
			var f fieldSet
			idx := make([]int, len(paths))
			for i, p := range paths {
				idx[i] = f.add(splitPath(p))
			}
			f.add(splitPath("a")) // duplicates share a slot
			f.scan(doc)
			for i, p := range paths {
				raw, found, err := lookup(doc, splitPath(p))
				got := f.res[idx[i]]
				if !bytes.Equal(got.raw, raw) || got.found != found || fmt.Sprint(got.err) != fmt.Sprint(err) {
					t.Fatalf("%q path %s: got (%q %v %v), lookup (%q %v %v)", doc, p, got.raw, got.found, got.err, raw, found, err)
				}
			}
		}
	}
}
