package window

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func walYAML(dir string) string {
	return basicYAML + "wal: { dir: " + fmt.Sprintf("%q", dir) + " }\n"
}

// kafkaBatch builds messages of topic t, partition 0, at the given offsets.
func kafkaBatch(docs map[int]string) service.MessageBatch {
	offs := make([]int, 0, len(docs))
	for o := range docs {
		offs = append(offs, o)
	}
	sort.Ints(offs)
	var b service.MessageBatch
	for _, o := range offs {
		m := service.NewMessage([]byte(docs[o]))
		// Typed as the redpanda input sets them; the log writes them as
		// text and a replay reads them back as text.
		m.MetaSetMut("kafka_topic", "t")
		m.MetaSetMut("kafka_partition", int32(0))
		m.MetaSetMut("kafka_offset", int64(o))
		b = append(b, m)
	}
	return b
}

func bodies(batch service.MessageBatch) []string {
	var s []string
	for _, m := range batch {
		b, _ := m.AsBytes()
		s = append(s, string(b))
	}
	sort.Strings(s)
	return s
}

// crashedCopy is what a process that starts after a crash finds of the log
// in dir: its files as they are on disk now (every append was fsynced),
// without the lock of the dead process.
func crashedCopy(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	names, err := filepath.Glob(filepath.Join(dir, "wal-*.log"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no log segments in %s (%v)", dir, err)
	}
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err == nil {
			err = os.WriteFile(filepath.Join(to, filepath.Base(name)), data, 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return to
}

func TestWALBufferAcksAtOnceAndLosesNothingInACrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	clk := &fakeClock{now: time.Unix(0, at(0))}

	b1 := newTestBuffer(t, walYAML(dir), clk)
	var a1 ackRecorder
	if err := b1.WriteBatch(ctx, kafkaBatch(map[int]string{
		0: `{"user":"u1","ts":"2024-01-01T00:00:01Z","type":"click"}`,
		1: `{"user":"u1","ts":"2024-01-01T00:00:02Z","type":"view"}`,
		2: `{"user":"u2","ts":"2024-01-01T00:00:03Z","type":"view"}`,
	}), a1.fn); err != nil {
		t.Fatal(err)
	}
	if n, err := a1.result(); n != 1 || err != nil {
		t.Fatalf("logged input: %d acks, err %v; want acknowledged at once", n, err)
	}
	// The process dies with the window open and offsets 1 and 2 not yet
	// committed: the input will deliver them again. The next process finds
	// the log's files as they are now (b1 writes nothing more to them).
	dir = crashedCopy(t, dir)

	b2 := newTestBuffer(t, walYAML(dir), clk)
	var a2 ackRecorder
	if err := b2.WriteBatch(ctx, kafkaBatch(map[int]string{
		1: `{"user":"u1","ts":"2024-01-01T00:00:02Z","type":"view"}`,
		2: `{"user":"u2","ts":"2024-01-01T00:00:03Z","type":"view"}`,
		3: `{"user":"u1","ts":"2024-01-01T00:00:04Z","type":"click"}`,
		4: `{"user":"u3","ts":"2024-01-01T00:00:25Z","type":"click"}`,
	}), a2.fn); err != nil {
		t.Fatal(err)
	}
	if n, err := a2.result(); n != 1 || err != nil {
		t.Fatalf("second input: %d acks, err %v", n, err)
	}
	batch, ack := readNow(t, b2)
	want := []string{
		`{"user":"u1","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:10Z","n":3,"by_type":{"click":2,"view":1}}`,
		`{"user":"u2","window_start":"2024-01-01T00:00:00Z","window_end":"2024-01-01T00:00:10Z","n":1,"by_type":{"view":1}}`,
	}
	if got := bodies(batch); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after the crash:\n%s\nwant (replayed from the log, redeliveries skipped):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The output fails: the result comes back (the input is long acked).
	if err := ack(ctx, errors.New("broker down")); err != nil {
		t.Fatal(err)
	}
	again, ack2 := readNow(t, b2)
	if got := bodies(again); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after a nack the buffer delivered %v, want the same results again", got)
	}
	if err := ack2(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Written: the first run's segment goes (its batch is released); the
	// active one, which holds u3's open window, stays.
	b2.writeMu.Lock()
	segs := b2.wal.Segments()
	b2.writeMu.Unlock()
	if segs != 1 {
		t.Fatalf("%d log segments on disk after the replayed windows were written, want 1", segs)
	}
}
