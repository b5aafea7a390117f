// Package batchlines registers the `batched_lines` scanner: the stock
// `lines` scanner's output, a message per line, handed over as batches of
// many lines. The stock scanner yields one single-message batch per line,
// and an input pays its whole per-batch path for each one (a transaction,
// a channel send, an ack and a latency sample), which costs a file input
// ~20 µs of CPU per line on a small machine. Batching at the scanner pays
// that once per batch, so a window buffer's WriteBatch (and its log's
// fsync) sees hundreds of lines at a time.
package batchlines

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	fCount         = "count"
	fMaxBufferSize = "max_buffer_size"
	fOmitEmpty     = "omit_empty"
)

// slabSize is the size of the blocks lines are copied into: one allocation
// for many lines instead of one per line.
const slabSize = 64 << 10

// readSize is the reader's buffer. A batch also ends where the buffered data
// holds no whole line (the next read might wait), so the buffer must hold
// many batches' worth of lines for batches to reach their count.
const readSize = 1 << 20

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Summary("Split an input stream into a message per line, like `lines`, yielded in batches of up to `count` lines.").
		Description(`
A batch ends at `+"`count`"+` lines, at the end of the input, or when the lines already read are all the reader has buffered: the scanner never waits for more data while it holds a complete line, so a slow source (a pipe, stdin) still gets each line through as it comes.

Lines end at a line feed; a carriage return before it is dropped, as the `+"`lines`"+` scanner does. A final line without a line feed is a message too.

Use it where a `+"`lines`"+` scanner feeds a buffer or processors that work on whole batches (the `+"`window`"+` buffer logs and fsyncs once per batch): the input then pays its per-batch costs once per `+"`count`"+` lines instead of once per line. Acknowledgement is unchanged: the source is acked once every batch taken from it is.`).
		Fields(
			service.NewIntField(fCount).
				Description("The most lines in one batch.").
				Default(1000),
			service.NewIntField(fMaxBufferSize).
				Description("The longest line in bytes; a longer line is an error that names the limit.").
				Default(bufio.MaxScanTokenSize),
			service.NewBoolField(fOmitEmpty).
				Description("Omit empty lines.").
				Default(false),
		).
		LintRule(`root = [
  if this.count.or(1) < 1 { "field count: must be at least 1" },
  if this.max_buffer_size.or(1) < 1 { "field max_buffer_size: must be at least 1" },
].filter(e -> e != null)`).
		Example("JSON lines from a file, a thousand at a time", "", `
input:
  file:
    paths: [ ./events.jsonl ]
    scanner:
      batched_lines: { count: 1000 }
`)
}

func init() {
	service.MustRegisterBatchScannerCreator("batched_lines", spec(),
		func(conf *service.ParsedConfig, _ *service.Resources) (service.BatchScannerCreator, error) {
			return fromParsed(conf)
		})
}

type creator struct {
	count     int
	maxLine   int
	omitEmpty bool
}

func fromParsed(conf *service.ParsedConfig) (*creator, error) {
	c := &creator{}
	var err error
	if c.count, err = conf.FieldInt(fCount); err != nil {
		return nil, err
	}
	if c.count < 1 {
		return nil, fmt.Errorf("field %s: must be at least 1, got %d", fCount, c.count)
	}
	if c.maxLine, err = conf.FieldInt(fMaxBufferSize); err != nil {
		return nil, err
	}
	if c.maxLine < 1 {
		return nil, fmt.Errorf("field %s: must be at least 1, got %d", fMaxBufferSize, c.maxLine)
	}
	if c.omitEmpty, err = conf.FieldBool(fOmitEmpty); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *creator) Create(rdr io.ReadCloser, ack service.AckFunc, _ *service.ScannerSourceDetails) (service.BatchScanner, error) {
	return service.AutoAggregateBatchScannerAcks(newStream(rdr, c.count, c.maxLine, c.omitEmpty), ack), nil
}

func (c *creator) Close(context.Context) error { return nil }

// stream cuts lines out of a bufio.Reader and copies them into shared slabs.
type stream struct {
	r         *bufio.Reader
	rc        io.ReadCloser
	count     int
	maxLine   int
	omitEmpty bool
	slab      []byte
	long      []byte // a line longer than the reader's buffer, being gathered
	err       error  // the read error (io.EOF at the end) after the lines before it
}

func newStream(rc io.ReadCloser, count, maxLine int, omitEmpty bool) *stream {
	return &stream{
		r:         bufio.NewReaderSize(rc, readSize),
		rc:        rc,
		count:     count,
		maxLine:   maxLine,
		omitEmpty: omitEmpty,
	}
}

// errTooLong names the limit, as the stock scanner's error does not.
func (s *stream) errTooLong() error {
	return fmt.Errorf("batched_lines: a line is longer than max_buffer_size (%d bytes)", s.maxLine)
}

func (s *stream) NextBatch(context.Context) (service.MessageBatch, error) {
	if s.err != nil {
		return nil, s.err
	}
	var batch service.MessageBatch
	for len(batch) < s.count {
		if len(batch) > 0 && !s.lineBuffered() {
			break
		}
		line, err := s.readLine()
		if err != nil {
			s.err = err
		}
		if line != nil && !(s.omitEmpty && len(line) == 0) {
			if batch == nil {
				batch = make(service.MessageBatch, 0, min(s.count, 256))
			}
			batch = append(batch, service.NewMessage(s.keep(line)))
		}
		if err != nil {
			break
		}
	}
	if len(batch) == 0 {
		return nil, s.err
	}
	return batch, nil
}

// lineBuffered tells whether a whole line can be read without waiting on
// the source.
func (s *stream) lineBuffered() bool {
	n := s.r.Buffered()
	if n == 0 {
		return false
	}
	b, _ := s.r.Peek(n)
	return bytes.IndexByte(b, '\n') >= 0
}

// readLine returns the next line without its line feed (nil with the error
// when there is none). The slice is only valid until the next read.
func (s *stream) readLine() ([]byte, error) {
	s.long = s.long[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if err == nil {
			if len(s.long) > 0 {
				s.long = append(s.long, frag...)
				frag = s.long
			}
			return s.trim(frag[:len(frag)-1])
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			s.long = append(s.long, frag...)
			if len(s.long) > s.maxLine {
				return nil, s.errTooLong()
			}
			continue
		}
		// At the end of the source, what was read before it is a final line
		// without a line feed; a read error leaves a partial line unsent.
		if errors.Is(err, io.EOF) && (len(s.long) > 0 || len(frag) > 0) {
			line, terr := s.trim(append(s.long, frag...))
			if terr != nil {
				return nil, terr
			}
			return line, err
		}
		return nil, err
	}
}

func (s *stream) trim(line []byte) ([]byte, error) {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) > s.maxLine {
		return nil, s.errTooLong()
	}
	return line, nil
}

// keep copies a line into the current slab, capacity-limited so that
// appending to one message's bytes can never overwrite the next one's.
func (s *stream) keep(line []byte) []byte {
	if cap(s.slab)-len(s.slab) < len(line) {
		s.slab = make([]byte, 0, max(slabSize, len(line)))
	}
	start := len(s.slab)
	s.slab = append(s.slab, line...)
	return s.slab[start:len(s.slab):len(s.slab)]
}

func (s *stream) Close(context.Context) error {
	return s.rc.Close()
}
