package wal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func kafkaMsg(body string, topic string, partition, offset int) Msg {
	m := Msg{Body: []byte(body), Meta: []Meta{
		{K: "kafka_topic", S: topic}, {K: "kafka_partition", I: int64(partition), Int: true}, {K: "kafka_offset", S: fmt.Sprint(offset)},
	}}
	m.Locate() // as toWALMsg does
	return m
}

func mustOpenWAL(t *testing.T, dir string, segBytes int64) (*Log, []Batch) {
	t.Helper()
	w, err := Open(dir, segBytes)
	if err != nil {
		t.Fatal(err)
	}
	var r []Batch
	if err := w.Replay(func(b Batch) { r = append(r, b) }); err != nil {
		t.Fatal(err)
	}
	return w, r
}

// crash drops the log the way a killed process does: the file and the lock
// are closed without anything else happening.
func crash(w *Log) {
	w.f.Close()
	w.lock.Close()
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, walPrefix+"*"+walSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestWALReplaysWhatWasNotReleasedAndRemembersPositions(t *testing.T) {
	dir := t.TempDir()
	w, replay := mustOpenWAL(t, dir, 1<<20)
	if len(replay) != 0 {
		t.Fatalf("fresh log replayed %d batches", len(replay))
	}
	s1, err := w.Append([]Msg{kafkaMsg(`{"a":1}`, "clicks", 0, 10), kafkaMsg(`{"a":2}`, "clicks", 1, 7)})
	if err != nil {
		t.Fatal(err)
	}
	errored := Msg{Body: []byte("not json"), Err: "validation: bad", Meta: []Meta{{K: "error_class", S: "validation"}}}
	s2, err := w.Append([]Msg{kafkaMsg(`{"a":3}`, "clicks", 0, 11), errored})
	if err != nil {
		t.Fatal(err)
	}
	s1.Release(nil) // the first batch's windows were written
	_ = s2
	// The release is logged with the next batch.
	if _, err := w.Append([]Msg{kafkaMsg(`{"a":4}`, "clicks", 0, 12)}); err != nil {
		t.Fatal(err)
	}
	crash(w)

	w2, replay := mustOpenWAL(t, dir, 1<<20)
	defer w2.Close()
	if len(replay) != 2 || len(replay[0].Msgs) != 2 || len(replay[1].Msgs) != 1 {
		t.Fatalf("replay: %+v, want the two unreleased batches", replay)
	}
	got := replay[0].Msgs
	if string(got[0].Body) != `{"a":3}` || got[1].Err != "validation: bad" || got[1].Meta[0] != (Meta{K: "error_class", S: "validation"}) {
		t.Fatalf("replayed messages differ: %+v", got)
	}
	if string(replay[1].Msgs[0].Body) != `{"a":4}` {
		t.Fatalf("second replayed batch %s", replay[1].Msgs[0].Body)
	}
	// Offsets of the released batch still count as seen: an input that
	// acknowledged them may not have committed them before the crash.
	for _, c := range []struct {
		p, off int
		seen   bool
	}{{0, 10, true}, {0, 11, true}, {0, 12, true}, {0, 13, false}, {1, 7, true}, {1, 8, false}, {2, 0, false}} {
		if got := w2.seen(partitionKey{"clicks", int64(c.p)}, int64(c.off)); got != c.seen {
			t.Errorf("seen(clicks/%d@%d) = %v, want %v", c.p, c.off, got, c.seen)
		}
	}
}

// An unordered input may hand over a partition's later batch first: the
// earlier offsets are new, not redeliveries, although they are lower.
func TestWALSkipsOnlyLoggedOffsetsWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	if _, err := w.Append([]Msg{kafkaMsg("b", "t", 0, 5), kafkaMsg("b", "t", 0, 6)}); err != nil {
		t.Fatal(err)
	}
	k := partitionKey{"t", 0}
	if w.seen(k, 3) || w.seen(k, 4) || !w.seen(k, 5) || !w.seen(k, 6) || w.seen(k, 7) {
		t.Fatalf("after logging 5-6: ranges %v", w.positions[k].r)
	}
	if _, err := w.Append([]Msg{kafkaMsg("a", "t", 0, 3), kafkaMsg("a", "t", 0, 4)}); err != nil {
		t.Fatal(err)
	}
	crash(w)
	w2, _ := mustOpenWAL(t, dir, 1<<20)
	defer w2.Close()
	if !w2.seen(k, 3) || !w2.seen(k, 6) || w2.seen(k, 2) || w2.seen(k, 7) {
		t.Fatalf("after a restart: ranges %v", w2.positions[k].r)
	}
}

func TestWALDeletesReleasedSegmentsButKeepsTheActiveOne(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 64) // tiny segments: every append rotates
	var refs []Ref
	for i := range 4 {
		s, err := w.Append([]Msg{kafkaMsg(strings.Repeat("x", 100), "t", 0, i)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, s)
	}
	if n := len(segmentFiles(t, dir)); n != 4 {
		t.Fatalf("%d segment files, want 4", n)
	}
	for _, r := range refs {
		r.Release(nil)
	}
	files := segmentFiles(t, dir)
	if len(files) != 1 || files[0] != w.active.path {
		t.Fatalf("after releasing everything: %v, want only the active segment %s", files, w.active.path)
	}
	if got := w.segments.Load(); got != 1 {
		t.Fatalf("segments gauge %d, want 1", got)
	}
	w.Close() // logs the releases of the active segment's batch
	// The surviving segment carries the positions.
	w2, replay := mustOpenWAL(t, dir, 64)
	defer w2.Close()
	if len(replay) != 0 || !w2.seen(partitionKey{"t", 0}, 3) || w2.seen(partitionKey{"t", 0}, 4) {
		t.Fatalf("reopen: %d batches replayed, positions %v", len(replay), w2.positions)
	}
	if files := segmentFiles(t, dir); len(files) != 1 {
		t.Fatalf("empty old segment not removed after reopen: %v", files)
	}
}

func TestWALKeepsSegmentsReleasedWithAnError(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 64)
	s, err := w.Append([]Msg{{Body: []byte("a")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Append([]Msg{{Body: []byte("b")}}); err != nil { // rotates: s is sealed
		t.Fatal(err)
	}
	s.Release(errors.New("window buffer shut down before the window closed")) // abandoned
	if _, err := os.Stat(s.seg.path); err != nil {
		t.Fatalf("a segment with an abandoned batch was deleted: %v", err)
	}
	crash(w)
	_, replay := mustOpenWAL(t, dir, 64)
	if len(replay) != 2 || string(replay[0].Msgs[0].Body) != "a" || string(replay[1].Msgs[0].Body) != "b" {
		t.Fatalf("replay %+v, want a then b", replay)
	}
}

func TestWALStopsAtATornTail(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	for i := range 3 {
		if _, err := w.Append([]Msg{kafkaMsg(fmt.Sprintf(`{"i":%d}`, i), "t", 0, i)}); err != nil {
			t.Fatal(err)
		}
	}
	path := w.active.path
	crash(w)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{len(raw) - 1, len(raw) - 5} {
		torn := filepath.Join(t.TempDir(), "torn")
		if err := os.MkdirAll(torn, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(torn, filepath.Base(path)), raw[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		w2, replay := mustOpenWAL(t, torn, 1<<20)
		if len(replay) != 2 || string(replay[1].Msgs[0].Body) != `{"i":1}` {
			t.Fatalf("cut at %d: replayed %d batches, want the 2 intact ones", cut, len(replay))
		}
		w2.Close()
	}
	// A flipped byte inside the last record fails its checksum the same way.
	raw[len(raw)-2] ^= 0xff
	flipped := t.TempDir()
	if err := os.WriteFile(filepath.Join(flipped, filepath.Base(path)), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	w3, replay := mustOpenWAL(t, flipped, 1<<20)
	defer w3.Close()
	if len(replay) != 2 {
		t.Fatalf("corrupt last record: replayed %d batches, want 2", len(replay))
	}
}

func TestWALDirectoryIsExclusive(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	_, err := Open(dir, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "in use by another window buffer") {
		t.Fatalf("second open of %s: %v, want an in-use error", dir, err)
	}
	w.Close()
	w2, _ := mustOpenWAL(t, dir, 1<<20)
	w2.Close()
}

// A record whose checksum matches but which does not decode was written
// that way: starting without it could lose acknowledged events, so the
// buffer refuses to start and says where and what to do.
func TestWALRefusesARecordThatDoesNotDecode(t *testing.T) {
	dir := t.TempDir()
	frame := endFrame(append(beginFrame(nil), walBatch, 0x80), 0) // a truncated uvarint
	if err := os.WriteFile(filepath.Join(dir, walPrefix+"0000000000000001"+walSuffix), frame, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "record at byte 0") || !strings.Contains(err.Error(), "move the directory aside") {
		t.Fatalf("open: %v, want an error naming the record and the way out", err)
	}
}

// When the file cannot be written, append fails (so the input is not
// acknowledged) and keeps failing; what was logged before is still replayed.
func TestWALStopsAppendingWhenTheFileFails(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	if _, err := w.Append([]Msg{kafkaMsg("a", "t", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	w.f.Close() // every write and the truncate fail from here on
	for i := range 2 {
		if _, err := w.Append([]Msg{kafkaMsg("b", "t", 0, 2)}); err == nil {
			t.Fatalf("append %d on a failed file succeeded", i)
		}
	}
	if w.broken == nil {
		t.Fatal("the log still takes appends after a write it could not undo")
	}
	w.lock.Close()
	_, replay := mustOpenWAL(t, dir, 1<<20)
	if len(replay) != 1 || string(replay[0].Msgs[0].Body) != "a" {
		t.Fatalf("replay after the failure: %+v, want the one logged batch", replay)
	}
}
