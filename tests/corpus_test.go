package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

type corpusItem struct {
	File   string  `json:"file"`
	Key    *string `json:"kafka_key"`
	Valid  bool    `json:"valid"`
	Class  string  `json:"class"`
	Reason string  `json:"reason"`
}

func loadCorpus(t *testing.T) ([]corpusItem, map[string][]byte) {
	t.Helper()
	dir := filepath.Join(harness.RepoRoot(), "tests", "corpus")
	b, err := os.ReadFile(filepath.Join(dir, "corpus.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Items []corpusItem `json:"items"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	payloads := map[string][]byte{}
	for _, it := range c.Items {
		p, err := os.ReadFile(filepath.Join(dir, it.File))
		if err != nil {
			t.Fatal(err)
		}
		payloads[it.File] = p
	}
	return c.Items, payloads
}

// The bad-input corpus mixed into valid events through the main job: the
// job keeps running, every bad event is in the DLQ with its class and
// reason, and valid + dead-lettered = produced.
func TestCorpusThroughClickstream(t *testing.T) {
	items, payloads := loadCorpus(t)
	addr := harness.StartBroker(t)
	base := time.Date(2024, 6, 27, 15, 43, 40, 0, time.UTC)
	var recs []*kgo.Record
	valid := 0
	for i := 0; i < 20; i++ {
		u := fmt.Sprintf("u%d", i%4)
		recs = append(recs, harness.KV(u, event(u, "click", base.Add(time.Duration(i)*100*time.Millisecond))))
		valid++
		if i < len(items) {
			it := items[i]
			r := &kgo.Record{Value: payloads[it.File], Headers: []kgo.RecordHeader{{Key: "corpus", Value: []byte(it.File)}}}
			if it.Key != nil {
				r.Key = []byte(*it.Key)
			}
			recs = append(recs, r)
			if it.Valid {
				valid++
			}
		}
	}
	harness.Produce(t, addr, "clickstream", recs...)
	p := runClickstream(t, addr)

	bad := len(recs) - valid
	dlq := harness.ConsumeExactly(t, addr, "clickstream-dlq", bad, 45*time.Second)
	byFile := map[string]corpusItem{}
	for _, it := range items {
		byFile[it.File] = it
	}
	seen := map[string]bool{}
	for _, r := range dlq {
		file := harness.Header(r, "corpus")
		it, ok := byFile[file]
		if !ok || it.Valid {
			t.Errorf("unexpected DLQ record (corpus header %q): %.200s", file, r.Value)
			continue
		}
		seen[file] = true
		if c := harness.Header(r, "dlq_error_class"); c != it.Class {
			t.Errorf("%s: class %q, want %q", file, c, it.Class)
		}
		if e := harness.Header(r, "dlq_error"); !strings.Contains(e, it.Reason) {
			t.Errorf("%s: error %q does not contain %q", file, e, it.Reason)
		}
		want := payloads[file]
		if size := harness.Header(r, "dlq_original_size"); size != "" {
			// Cut to fit the DLQ's max message size: a prefix of the original.
			if size != fmt.Sprint(len(want)) || !strings.HasPrefix(string(want), string(r.Value)) {
				t.Errorf("%s: cut record of %d bytes, original_size %s, want a prefix of %d bytes", file, len(r.Value), size, len(want))
			}
		} else if string(r.Value) != string(want) {
			t.Errorf("%s: DLQ value differs from the original bytes", file)
		}
		if it.Key == nil && r.Key != nil && len(r.Key) != 0 {
			t.Errorf("%s: key %q, want none", file, r.Key)
		} else if it.Key != nil && string(r.Key) != *it.Key {
			t.Errorf("%s: key %q, want %q", file, r.Key, *it.Key)
		}
	}
	for _, it := range items {
		if !it.Valid && !seen[it.File] {
			t.Errorf("%s is not in the DLQ", it.File)
		}
	}

	// Four users in one 10s window (20 events and the valid corpus item,
	// whose user is a fifth), plus a session each.
	results := decodeResults(t, harness.ConsumeExactly(t, addr, "user_stats", 10, 30*time.Second))
	if n := tenSecondEvents(results); n+len(dlq) != len(recs) || n != valid {
		t.Fatalf("valid outputs %d + DLQ %d != produced %d (valid %d)", n, len(dlq), len(recs), valid)
	}

	// Still running: a new event is counted too. (Stamped now: the idle
	// stream's watermark follows the wall clock, so an old one is late.)
	harness.Produce(t, addr, "clickstream", harness.KV("u9", event("u9", "click", time.Now())))
	harness.ConsumeExactly(t, addr, "user_stats", 11, 45*time.Second)
	if _, exited := p.Wait(0); exited {
		t.Fatal("the pipeline exited")
	}
}
