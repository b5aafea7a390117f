package window

import (
	"testing"
)

// The one-pass fieldSet must read every path as encoding/json (a mapping's
// `this.path`) reads it: the same value, or an error from both, on valid,
// truncated and malformed documents, with several paths resolved at once.
func TestFieldSetMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		` { "a" : 1, "s":"x\"y", "skip":{"q":[1,{"r":"}"}]}, "n":{"b":{"c":"deep"}}, "esc\u0041":true, "nul":null }`,
		`{"user_id":"u1","timestamp":"2024-06-27T15:43:43Z","event_type":"view","metadata":{"page":"/a"},"profile":{"segment":"x"}}`,
		`{"a":1,"a":2,"n":3,"n":{"b":1}}`, `{"n":{"b":{"c":1}},"a":[1,2]}`, `[1]`, `"s"`, ``, `{}`, `{"a":1 "b":2}`,
		`{"a":1,"zz":}`, `{"a":1,"zz":{"x":"unterminated}`, `{"n":{"b":x}}`, `{"n":{"b"1}}`, `{"esc\"a":1,"a":2}`,
		`{"n":{"b":{"c":1},"b":{"d":2}}}`, `{"a":"caf\u00e9","s":"café"}`,
	}
	paths := []string{"a", "s", "n.b.c", "n.b", "escA", "nul", "missing", "a.b", "n.x", "user_id",
		"timestamp", "metadata.page", "profile.segment", "event_type", "n", "zz", "n.b.d"}
	for _, d := range docs {
		// Every prefix: truncation hits each possible position.
		for cut := 0; cut <= len(d); cut++ {
			for _, p := range paths {
				sameField(t, []byte(d[:cut]), p)
			}
		}
	}
}

// Every registered path gets its own result; duplicates share a slot.
func TestFieldSetResolvesSeveralPathsInOneScan(t *testing.T) {
	var f fieldSet
	a, nb, nbc := f.add(splitPath("a")), f.add(splitPath("n.b")), f.add(splitPath("n.b.c"))
	if again := f.add(splitPath("a")); again != a {
		t.Fatalf("duplicate path got slot %d, want %d", again, a)
	}
	f.scan([]byte(`{"a":1,"n":{"b":{"c":"x"}},"a":3}`))
	for _, c := range []struct {
		idx  int
		want string
	}{{a, "3"}, {nb, `{"c":"x"}`}, {nbc, `"x"`}} {
		if r := f.res[c.idx]; r.err != nil || !r.found || string(r.raw) != c.want {
			t.Errorf("slot %d: %q %v %v, want %s", c.idx, r.raw, r.found, r.err, c.want)
		}
	}
	f.scan([]byte(`{"a":1,"n":{"b":{"c":"x"}}} trailing`))
	for _, r := range f.res {
		if r.err == nil {
			t.Errorf("trailing data accepted: %+v", r)
		}
	}
}
