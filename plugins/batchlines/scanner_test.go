package batchlines

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
)

func scan(t *testing.T, conf string, rc io.ReadCloser) service.BatchScanner {
	t.Helper()
	pc, err := spec().ParseYAML(conf, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fromParsed(pc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Create(rc, func(context.Context, error) error { return nil }, service.NewScannerSourceDetails())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// batches reads every batch to the end and returns each as its lines.
func batches(t *testing.T, s service.BatchScanner) ([][]string, error) {
	t.Helper()
	var out [][]string
	for {
		b, ack, err := s.NextBatch(context.Background())
		if err != nil {
			return out, err
		}
		var lines []string
		for _, m := range b {
			raw, err := m.AsBytes()
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, string(raw))
		}
		out = append(out, lines)
		if err := ack(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBatchesOfCountLinesToTheEnd(t *testing.T) {
	in := "a\nbb\r\n\nccc\nd\ne\nlast-without-newline"
	got, err := batches(t, scan(t, "count: 3", io.NopCloser(strings.NewReader(in))))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("want io.EOF at the end, got %v", err)
	}
	want := [][]string{{"a", "bb", ""}, {"ccc", "d", "e"}, {"last-without-newline"}}
	if len(got) != len(want) {
		t.Fatalf("got batches %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Fatalf("batch %d: got %q, want %q", i, got[i], want[i])
		}
	}
}

func TestOmitEmpty(t *testing.T) {
	got, _ := batches(t, scan(t, "count: 10\nomit_empty: true", io.NopCloser(strings.NewReader("\na\n\r\n\nb\n"))))
	if len(got) != 1 || strings.Join(got[0], "|") != "a|b" {
		t.Fatalf("got %q, want one batch a|b", got)
	}
}

// A line longer than the reader's buffer is gathered whole; one longer
// than max_buffer_size is an error that names the field.
func TestLongLines(t *testing.T) {
	long := strings.Repeat("x", 3*slabSize)
	got, err := batches(t, scan(t, "max_buffer_size: 1000000", io.NopCloser(strings.NewReader("a\n"+long+"\nb\n"))))
	var lines []string
	for _, b := range got {
		lines = append(lines, b...)
	}
	if !errors.Is(err, io.EOF) || len(lines) != 3 || lines[1] != long || lines[2] != "b" {
		t.Fatalf("long line not read whole: err %v, %d lines", err, len(lines))
	}
	_, err = batches(t, scan(t, "max_buffer_size: 100", io.NopCloser(strings.NewReader("a\n"+strings.Repeat("y", 101)+"\n"))))
	if err == nil || !strings.Contains(err.Error(), "max_buffer_size (100 bytes)") {
		t.Fatalf("want an error naming max_buffer_size, got %v", err)
	}
	_, err = batches(t, scan(t, "max_buffer_size: 100", io.NopCloser(strings.NewReader(strings.Repeat("z", 101)))))
	if err == nil || !strings.Contains(err.Error(), "max_buffer_size") {
		t.Fatalf("a final line over the limit: want an error naming max_buffer_size, got %v", err)
	}
}

// The scanner must hand over what it has instead of waiting for a full
// batch from a source that has nothing more yet.
func TestDoesNotWaitForAFullBatch(t *testing.T) {
	pr, pw := io.Pipe()
	s := scan(t, "count: 1000", pr)
	go func() { _, _ = pw.Write([]byte("one\ntwo\nthr")) }()
	got := make(chan []string, 1)
	go func() {
		b, _, err := s.NextBatch(context.Background())
		var lines []string
		for _, m := range b {
			raw, _ := m.AsBytes()
			lines = append(lines, string(raw))
		}
		if err != nil {
			lines = append(lines, "error: "+err.Error())
		}
		got <- lines
	}()
	select {
	case lines := <-got:
		if strings.Join(lines, "|") != "one|two" {
			t.Fatalf("got %q, want one|two", lines)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("NextBatch waited for more lines while it held two")
	}
	go func() { _, _ = pw.Write([]byte("ee\n")); _ = pw.Close() }()
	b, _, err := s.NextBatch(context.Background())
	if err != nil || len(b) != 1 {
		t.Fatalf("got %d messages, err %v; want the line completed after the wait", len(b), err)
	}
	if raw, _ := b[0].AsBytes(); string(raw) != "three" {
		t.Fatalf("got %q, want three", raw)
	}
}

// Lines share slabs, so one message's bytes must not reach into the next.
func TestMessagesDoNotShareCapacity(t *testing.T) {
	s := scan(t, "count: 10", io.NopCloser(strings.NewReader("aa\nbb\n")))
	b, _, err := s.NextBatch(context.Background())
	if err != nil || len(b) != 2 {
		t.Fatalf("got %d messages, err %v", len(b), err)
	}
	first, _ := b[0].AsBytes()
	_ = append(first, 'X')
	if second, _ := b[1].AsBytes(); string(second) != "bb" {
		t.Fatalf("appending to the first line changed the second to %q", second)
	}
}

// A read error is returned after the complete lines before it; the partial
// line it cut is not a message.
func TestReadErrorAfterCompleteLines(t *testing.T) {
	boom := errors.New("disk on fire")
	r := io.MultiReader(strings.NewReader("a\nb\npart"), errReader{boom})
	got, err := batches(t, scan(t, "count: 10", io.NopCloser(r)))
	if !errors.Is(err, boom) {
		t.Fatalf("want the read error, got %v", err)
	}
	if len(got) != 1 || strings.Join(got[0], "|") != "a|b" {
		t.Fatalf("got %q, want a|b and no partial line", got)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestConfigErrorsNameTheField(t *testing.T) {
	for conf, field := range map[string]string{"count: 0": "count", "max_buffer_size: -1": "max_buffer_size"} {
		pc, err := spec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fromParsed(pc); err == nil || !strings.Contains(err.Error(), "field "+field) {
			t.Errorf("%s: want an error naming field %s, got %v", conf, field, err)
		}
	}
}

// The scanner works as a file input's scanner in a real stream.
func TestFileInputStream(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/in.jsonl"
	var sb strings.Builder
	// Lines of 200 bytes, as clickstream events are: 500 KB, so batches
	// reach their count only if the reader buffers far more than 64 KiB.
	line := `{"n":1,"pad":"` + strings.Repeat("x", 200-17) + `"}` + "\n"
	for i := 0; i < 2500; i++ {
		sb.WriteString(line)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	b := service.NewStreamBuilder()
	if err := b.SetYAML(`
input:
  file:
    paths: [ "` + path + `" ]
    scanner: { batched_lines: { count: 1000 } }
logger: { level: OFF }
`); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	if err := b.AddBatchConsumerFunc(func(_ context.Context, mb service.MessageBatch) error {
		sizes = append(sizes, len(mb))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Fatalf("got batch sizes %v, want [1000 1000 500]", sizes)
	}
}

// `pipeline lint` (the stream builder lints too) names a bad field before
// anything runs.
func TestLintNamesTheField(t *testing.T) {
	for conf, field := range map[string]string{
		"{ count: 0 }": "field count", "{ max_buffer_size: 0 }": "field max_buffer_size",
	} {
		err := service.NewStreamBuilder().SetYAML(`
input:
  file:
    paths: [ ./in.jsonl ]
    scanner: { batched_lines: ` + conf + ` }
output:
  drop: {}
`)
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: want a lint error naming %s, got %v", conf, field, err)
		}
	}
}
