package window

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func kafkaMsg(body string, topic string, partition, offset int) walMsg {
	m := walMsg{Body: []byte(body), Meta: []walMeta{
		{K: "kafka_topic", S: topic}, {K: "kafka_partition", I: int64(partition), Int: true}, {K: "kafka_offset", S: fmt.Sprint(offset)},
	}}
	m.locate() // as toWALMsg does
	return m
}

func mustOpenWAL(t *testing.T, dir string, segBytes int64) (*wal, []walReplay) {
	t.Helper()
	w, err := openWAL(dir, segBytes)
	if err != nil {
		t.Fatal(err)
	}
	var r []walReplay
	if err := w.replay(func(b walReplay) { r = append(r, b) }); err != nil {
		t.Fatal(err)
	}
	return w, r
}

// crash drops the log the way a killed process does: the file and the lock
// are closed without anything else happening.
func crash(w *wal) {
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
	s1, err := w.append([]walMsg{kafkaMsg(`{"a":1}`, "clicks", 0, 10), kafkaMsg(`{"a":2}`, "clicks", 1, 7)})
	if err != nil {
		t.Fatal(err)
	}
	errored := walMsg{Body: []byte("not json"), Err: "validation: bad", Meta: []walMeta{{K: "error_class", S: "validation"}}}
	s2, err := w.append([]walMsg{kafkaMsg(`{"a":3}`, "clicks", 0, 11), errored})
	if err != nil {
		t.Fatal(err)
	}
	s1.release(nil) // the first batch's windows were written
	_ = s2
	// The release is logged with the next batch.
	if _, err := w.append([]walMsg{kafkaMsg(`{"a":4}`, "clicks", 0, 12)}); err != nil {
		t.Fatal(err)
	}
	crash(w)

	w2, replay := mustOpenWAL(t, dir, 1<<20)
	defer w2.close()
	if len(replay) != 2 || len(replay[0].msgs) != 2 || len(replay[1].msgs) != 1 {
		t.Fatalf("replay: %+v, want the two unreleased batches", replay)
	}
	got := replay[0].msgs
	if string(got[0].Body) != `{"a":3}` || got[1].Err != "validation: bad" || got[1].Meta[0] != (walMeta{K: "error_class", S: "validation"}) {
		t.Fatalf("replayed messages differ: %+v", got)
	}
	if string(replay[1].msgs[0].Body) != `{"a":4}` {
		t.Fatalf("second replayed batch %s", replay[1].msgs[0].Body)
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
	if _, err := w.append([]walMsg{kafkaMsg("b", "t", 0, 5), kafkaMsg("b", "t", 0, 6)}); err != nil {
		t.Fatal(err)
	}
	k := partitionKey{"t", 0}
	if w.seen(k, 3) || w.seen(k, 4) || !w.seen(k, 5) || !w.seen(k, 6) || w.seen(k, 7) {
		t.Fatalf("after logging 5-6: ranges %v", w.positions[k].r)
	}
	if _, err := w.append([]walMsg{kafkaMsg("a", "t", 0, 3), kafkaMsg("a", "t", 0, 4)}); err != nil {
		t.Fatal(err)
	}
	crash(w)
	w2, _ := mustOpenWAL(t, dir, 1<<20)
	defer w2.close()
	if !w2.seen(k, 3) || !w2.seen(k, 6) || w2.seen(k, 2) || w2.seen(k, 7) {
		t.Fatalf("after a restart: ranges %v", w2.positions[k].r)
	}
}

func TestWALDeletesReleasedSegmentsButKeepsTheActiveOne(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 64) // tiny segments: every append rotates
	var refs []walRef
	for i := range 4 {
		s, err := w.append([]walMsg{kafkaMsg(strings.Repeat("x", 100), "t", 0, i)})
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, s)
	}
	if n := len(segmentFiles(t, dir)); n != 4 {
		t.Fatalf("%d segment files, want 4", n)
	}
	for _, r := range refs {
		r.release(nil)
	}
	files := segmentFiles(t, dir)
	if len(files) != 1 || files[0] != w.active.path {
		t.Fatalf("after releasing everything: %v, want only the active segment %s", files, w.active.path)
	}
	if got := w.segments.Load(); got != 1 {
		t.Fatalf("segments gauge %d, want 1", got)
	}
	w.close() // logs the releases of the active segment's batch
	// The surviving segment carries the positions.
	w2, replay := mustOpenWAL(t, dir, 64)
	defer w2.close()
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
	s, err := w.append([]walMsg{{Body: []byte("a")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.append([]walMsg{{Body: []byte("b")}}); err != nil { // rotates: s is sealed
		t.Fatal(err)
	}
	s.release(errShutdown)
	if _, err := os.Stat(s.seg.path); err != nil {
		t.Fatalf("a segment with an abandoned batch was deleted: %v", err)
	}
	crash(w)
	_, replay := mustOpenWAL(t, dir, 64)
	if len(replay) != 2 || string(replay[0].msgs[0].Body) != "a" || string(replay[1].msgs[0].Body) != "b" {
		t.Fatalf("replay %+v, want a then b", replay)
	}
}

func TestWALStopsAtATornTail(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	for i := range 3 {
		if _, err := w.append([]walMsg{kafkaMsg(fmt.Sprintf(`{"i":%d}`, i), "t", 0, i)}); err != nil {
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
		if len(replay) != 2 || string(replay[1].msgs[0].Body) != `{"i":1}` {
			t.Fatalf("cut at %d: replayed %d batches, want the 2 intact ones", cut, len(replay))
		}
		w2.close()
	}
	// A flipped byte inside the last record fails its checksum the same way.
	raw[len(raw)-2] ^= 0xff
	flipped := t.TempDir()
	if err := os.WriteFile(filepath.Join(flipped, filepath.Base(path)), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	w3, replay := mustOpenWAL(t, flipped, 1<<20)
	defer w3.close()
	if len(replay) != 2 {
		t.Fatalf("corrupt last record: replayed %d batches, want 2", len(replay))
	}
}

func TestWALDirectoryIsExclusive(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	_, err := openWAL(dir, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "in use by another window buffer") {
		t.Fatalf("second open of %s: %v, want an in-use error", dir, err)
	}
	w.close()
	w2, _ := mustOpenWAL(t, dir, 1<<20)
	w2.close()
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
	_, err := openWAL(dir, 1<<20)
	if err == nil || !strings.Contains(err.Error(), "record at byte 0") || !strings.Contains(err.Error(), "move the directory aside") {
		t.Fatalf("open: %v, want an error naming the record and the way out", err)
	}
}

// When the file cannot be written, append fails (so the input is not
// acknowledged) and keeps failing; what was logged before is still replayed.
func TestWALStopsAppendingWhenTheFileFails(t *testing.T) {
	dir := t.TempDir()
	w, _ := mustOpenWAL(t, dir, 1<<20)
	if _, err := w.append([]walMsg{kafkaMsg("a", "t", 0, 1)}); err != nil {
		t.Fatal(err)
	}
	w.f.Close() // every write and the truncate fail from here on
	for i := range 2 {
		if _, err := w.append([]walMsg{kafkaMsg("b", "t", 0, 2)}); err == nil {
			t.Fatalf("append %d on a failed file succeeded", i)
		}
	}
	if w.broken == nil {
		t.Fatal("the log still takes appends after a write it could not undo")
	}
	w.lock.Close()
	_, replay := mustOpenWAL(t, dir, 1<<20)
	if len(replay) != 1 || string(replay[0].msgs[0].Body) != "a" {
		t.Fatalf("replay after the failure: %+v, want the one logged batch", replay)
	}
}
