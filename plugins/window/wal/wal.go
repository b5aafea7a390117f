// Package wal is the write-ahead log of the `window` buffer (its `wal`
// option): batches are appended and fsynced before their input is
// acknowledged, held until every window they fed is written, and replayed
// after a restart; the log also remembers which Kafka offsets it holds, so
// redeliveries are skipped. It knows messages only as bodies, metadata and
// error texts (Msg): the adapter in plugins/window converts Benthos
// messages.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/streamkit/pipeline/internal/meta"
)

// The write-ahead log lets the buffer acknowledge inputs as soon as their
// events are on disk instead of when their windows close: held input
// messages, not window state, are what made memory grow with events. Each
// WriteBatch appends one record and fsyncs before the input is acked; the
// batch's ack node then releases its segment, and a segment whose batches
// were all emitted and written is deleted. On start the segments still on
// disk are replayed into the engine, so nothing acked is ever lost.
//
// Acknowledged offsets reach the broker a little later (the input commits
// periodically), so after a crash the input redelivers some events that
// are already in the log. The log therefore keeps the set of logged offsets
// per topic/partition (kafka_* metadata, as ranges) and the buffer skips
// redeliveries of those. Every segment starts with the positions as of its
// creation, and the newest segment is never deleted, so the positions
// survive compaction.
//
// File layout: a sequence of records, each
//
//	uint32 length | uint32 CRC-32C of payload | payload
//
// where payload is a kind byte then, for walPositions, uvarint n and n
// (string topic, varint partition, uvarint r, r (varint lo, varint hi));
// for walBatch, uvarint
// sequence number, uvarint n and n messages (bytes body, string error,
// uvarint m, m (string key, string value)); for walReleased, uvarint n and n
// batch sequence numbers whose windows were all written (written lazily,
// before the next batch: a lost marker only means a longer replay).
// Strings and bytes are uvarint length + data. A torn or corrupt tail is
// never an acknowledged write (the ack follows the fsync), so reading stops
// there.

const (
	walPositions byte = 1
	walBatch     byte = 2
	walReleased  byte = 3

	walPrefix = "wal-"
	walSuffix = ".log"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Msg is one logged message: its body, metadata as strings and, for a
// message that arrived errored (passed through to the output's error
// routing), its error text.
type Msg struct {
	Body []byte
	Meta []Meta
	Err  string
	// Where it was read from (kafka_* metadata), found once per message:
	// the redelivery check and the positions both need it.
	pos    partitionKey
	off    int64
	hasPos bool
}

// Locate sets the message's source position from its metadata (kafka_topic,
// kafka_partition, kafka_offset); call it once Meta is complete.
func (m *Msg) Locate() {
	m.pos, m.off, m.hasPos = sourcePosition(m.Meta)
}

// Meta is one metadata entry. Integers (Kafka inputs set several per
// message) stay integers until they are encoded, as decimal text, straight
// into the record: no string per value, and no parse to find the offset.
type Meta struct {
	K, S string
	I    int64
	Int  bool
}

// Text is the entry's value as text (integers in decimal).
func (m Meta) Text() string {
	if m.Int {
		return strconv.FormatInt(m.I, 10)
	}
	return m.S
}

func (m Meta) int() (int64, bool) {
	if m.Int {
		return m.I, true
	}
	v, err := strconv.ParseInt(m.S, 10, 64)
	return v, err == nil
}

// partitionKey identifies a source partition for redelivery detection.
type partitionKey struct {
	topic     string
	partition int64
}

// walSegment is one log file. refs counts the batches in it whose windows
// are not yet written, plus one while it is the active (appended) segment.
type walSegment struct {
	path   string
	refs   atomic.Int64
	retain atomic.Bool // a batch failed or was abandoned: replay it next start
	onGone func()      // the file was deleted
}

// release drops one reference. The file is deleted with the last one unless
// a batch in it was released with an error (it must be replayed).
func (s *walSegment) release(err error) {
	if err != nil {
		s.retain.Store(true)
	}
	if s.refs.Add(-1) != 0 || s.retain.Load() {
		return
	}
	_ = os.Remove(s.path)
	if s.onGone != nil {
		s.onGone()
	}
}

// Ref is one logged batch's claim on its segment.
type Ref struct {
	w   *Log
	seg *walSegment
	seq uint64
}

// Release is called once, when every window the batch fed was written
// (err == nil) or abandoned.
func (r Ref) Release(err error) {
	if err == nil {
		r.w.relMu.Lock()
		r.w.released = append(r.w.released, r.seq)
		r.w.relMu.Unlock()
	}
	r.seg.release(err)
}

// Batch is a batch read back from a segment at start.
type Batch struct {
	Ref  Ref
	Msgs []Msg
}

// Log is the log of one buffer. Append and Seen are called by the single
// writer (WriteBatch is serialised), so positions needs no lock; mu guards
// the file against close. Segment releases come from any goroutine.
type Log struct {
	dir      string
	segBytes int64

	mu        sync.Mutex
	active    *walSegment
	f         *os.File
	size      int64
	fileSeq   uint64 // sequence number in the newest segment's file name
	positions map[partitionKey]*OffsetSet
	buf       []byte
	lock      *os.File
	broken    error        // set when the file's state is unknown: no more appends
	nextSeq   uint64       // sequence number of the next batch
	segments  atomic.Int64 // files on disk

	relMu    sync.Mutex
	released []uint64 // batches released since the last marker

	// Left by readWAL for replay: the segments with held batches and the
	// batches released before the restart.
	replaySegs     []*walSegment
	replayReleased map[uint64]bool
}

// Open opens (creating) dir, reads what an earlier run left (positions,
// which batches are released) and starts a new active segment. The batches
// still held must then be fed to Replay, which reads them one segment at a
// time: a large log never sits in memory as a whole.
func Open(dir string, segBytes int64) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal.dir: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	w, err := readWAL(dir, segBytes)
	if err != nil {
		lock.Close()
		return nil, err
	}
	w.lock = lock
	return w, nil
}

// readWAL is the first pass over the segments: positions, release markers
// and which batches are still held; the batches themselves are dropped.
func readWAL(dir string, segBytes int64) (*Log, error) {
	names, err := filepath.Glob(filepath.Join(dir, walPrefix+"*"+walSuffix))
	if err != nil {
		return nil, fmt.Errorf("wal.dir: %w", err)
	}
	slices.Sort(names) // zero-padded sequence numbers sort in write order
	w := &Log{dir: dir, segBytes: segBytes, positions: map[partitionKey]*OffsetSet{}, buf: make([]byte, 8, 64<<10),
		replayReleased: map[uint64]bool{}}
	batchSeg := map[uint64]*walSegment{}
	var segs []*walSegment
	for _, name := range names {
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(name), walPrefix), walSuffix), 10, 64)
		if err != nil {
			continue // not ours
		}
		w.fileSeq = max(w.fileSeq, seq)
		seg := &walSegment{path: name, onGone: w.gone}
		segs = append(segs, seg)
		w.segments.Add(1)
		if err := readSegment(name, func(kind byte, p []byte) error {
			switch kind {
			case walPositions:
				return decodePositions(p, w)
			case walReleased:
				return decodeReleased(p, w.replayReleased)
			case walBatch:
				bseq, msgs, err := decodeBatch(p)
				if err != nil {
					return err
				}
				w.observe(msgs)
				w.nextSeq = max(w.nextSeq, bseq+1)
				batchSeg[bseq] = seg
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for bseq, seg := range batchSeg {
		if !w.replayReleased[bseq] {
			seg.refs.Add(1)
		}
	}
	var empty []*walSegment
	for _, s := range segs {
		if s.refs.Load() == 0 {
			empty = append(empty, s)
		} else {
			w.replaySegs = append(w.replaySegs, s)
		}
	}
	if err := w.rotate(); err != nil {
		return nil, err
	}
	// Their positions now live in the new active segment.
	for _, s := range empty {
		s.refs.Add(1)
		s.release(nil)
	}
	return w, nil
}

// Replay is the second pass: it calls fn, in write order, for each batch
// an earlier run logged whose windows were not all written. fn must release
// r.Ref exactly once (when the batch's windows are written).
func (w *Log) Replay(fn func(r Batch)) error {
	segs, released := w.replaySegs, w.replayReleased
	w.replaySegs, w.replayReleased = nil, nil
	for _, seg := range segs {
		if err := readSegment(seg.path, func(kind byte, p []byte) error {
			if kind != walBatch {
				return nil
			}
			bseq, msgs, err := decodeBatch(p)
			if err != nil || released[bseq] {
				return err
			}
			fn(Batch{Ref: Ref{w: w, seg: seg, seq: bseq}, Msgs: msgs})
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func readSegment(name string, fn func(kind byte, payload []byte) error) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		return fmt.Errorf("wal: reading %s: %w", name, err)
	}
	if err := readRecords(raw, fn); err != nil {
		return fmt.Errorf("wal: %s: %w (the checksum matches, so it was written this way: by another version, or the disk lies; move the directory aside to start without it)", name, err)
	}
	return nil
}

func (w *Log) gone() { w.segments.Add(-1) }

// rotate seals the active segment and starts the next one with the current
// positions. Callers hold w.mu (or own w exclusively).
func (w *Log) rotate() error {
	w.fileSeq++
	path := filepath.Join(w.dir, fmt.Sprintf("%s%016d%s", walPrefix, w.fileSeq, walSuffix))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("wal: creating segment: %w", err)
	}
	seg := &walSegment{path: path, onGone: w.gone}
	seg.refs.Store(1) // the active hold
	w.segments.Add(1)
	old, oldF := w.active, w.f
	w.active, w.f, w.size = seg, f, 0
	buf := beginFrame(w.buf[:0])
	if err := w.write(endFrame(encodePositions(buf, w.positions), 0)); err != nil {
		return err
	}
	if oldF != nil {
		_ = oldF.Close()
		old.release(nil)
	}
	return nil
}

// beginFrame reserves a record header; endFrame fills it in for the
// payload appended since start.
func beginFrame(b []byte) []byte { return append(b, 0, 0, 0, 0, 0, 0, 0, 0) }

func endFrame(b []byte, start int) []byte {
	payload := b[start+8:]
	binary.LittleEndian.PutUint32(b[start:start+4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(b[start+4:start+8], crc32.Checksum(payload, crcTable))
	return b
}

// releasedFrame appends a marker for the batches released since the last.
func (w *Log) releasedFrame(b []byte) []byte {
	w.relMu.Lock()
	rel := w.released
	w.released = nil
	w.relMu.Unlock()
	if len(rel) == 0 {
		return b
	}
	start := len(b)
	return endFrame(encodeReleased(beginFrame(b), rel), start)
}

// write appends framed records and fsyncs. The buffer is kept for the next
// write.
func (w *Log) write(frame []byte) error {
	w.buf = frame[:0]
	if w.broken != nil {
		return w.broken
	}
	if _, err := w.f.Write(frame); err != nil {
		return w.fail(fmt.Errorf("wal: writing %s: %w", w.active.path, err), false)
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("wal: syncing %s: %w", w.active.path, err), true)
	}
	w.size += int64(len(frame))
	return nil
}

// fail handles a failed write. A partial record is cut off, or a later
// acknowledged record would sit behind a torn one, where reading stops. If
// that is impossible, or fsync failed (the kernel may have dropped the
// pages, so what is on disk is unknown), the log takes no more appends:
// inputs are then not acknowledged, and are redelivered after a restart.
func (w *Log) fail(err error, synced bool) error {
	if !synced {
		if terr := w.f.Truncate(w.size); terr == nil {
			if _, serr := w.f.Seek(w.size, io.SeekStart); serr == nil {
				return err
			}
		}
	}
	w.broken = err
	return err
}

// Append logs a batch durably and returns the segment now holding it (with
// a reference the caller releases once the batch's windows are written).
func (w *Log) Append(msgs []Msg) (Ref, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return Ref{}, errors.New("wal: closed")
	}
	if w.size >= w.segBytes {
		if err := w.rotate(); err != nil {
			return Ref{}, err
		}
	}
	b := w.releasedFrame(w.buf[:0])
	start := len(b)
	ref := Ref{w: w, seg: w.active, seq: w.nextSeq}
	if err := w.write(endFrame(encodeBatch(beginFrame(b), ref.seq, msgs), start)); err != nil {
		return Ref{}, err
	}
	w.nextSeq++
	w.observe(msgs)
	ref.seg.refs.Add(1)
	return ref, nil
}

// Seen reports whether m, located (Locate), is already in the log: a
// redelivery after a crash or rebalance. A message without a complete
// position never is.
func (w *Log) Seen(m *Msg) bool { return m.hasPos && w.seen(m.pos, m.off) }

// seen reports whether an event at this position is already in the log.
func (w *Log) seen(k partitionKey, offset int64) bool {
	s := w.positions[k]
	return s != nil && s.Has(offset)
}

func (w *Log) observe(msgs []Msg) {
	for i := range msgs {
		if m := &msgs[i]; m.hasPos {
			w.offsets(m.pos).Add(m.off)
		}
	}
}

func (w *Log) offsets(k partitionKey) *OffsetSet {
	s := w.positions[k]
	if s == nil {
		s = &OffsetSet{}
		w.positions[k] = s
	}
	return s
}

// Segments is the number of segment files on disk.
func (w *Log) Segments() int64 { return w.segments.Load() }

// Close stops appending. The active segment stays on disk: it carries the
// positions the next start needs.
func (w *Log) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	if b := w.releasedFrame(w.buf[:0]); len(b) > 0 {
		_ = w.write(b)
	}
	err := w.f.Close()
	w.f = nil
	w.lock.Close()
	return err
}

// sourcePosition reads kafka_topic, kafka_partition and kafka_offset.
func sourcePosition(ms []Meta) (partitionKey, int64, bool) {
	var k partitionKey
	var off int64
	var have int
	for _, m := range ms {
		switch m.K {
		case meta.KafkaTopic:
			k.topic = m.Text()
			have |= 1
		case meta.KafkaPartition:
			p, ok := m.int()
			if !ok {
				return k, 0, false
			}
			k.partition = p
			have |= 2
		case meta.KafkaOffset:
			o, ok := m.int()
			if !ok {
				return k, 0, false
			}
			off = o
			have |= 4
		}
	}
	return k, off, have == 7
}

// --- encoding ---------------------------------------------------------------

func putBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func putString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func encodeBatch(b []byte, seq uint64, msgs []Msg) []byte {
	b = append(b, walBatch)
	b = binary.AppendUvarint(b, seq)
	b = binary.AppendUvarint(b, uint64(len(msgs)))
	for i := range msgs {
		b = putBytes(b, msgs[i].Body)
		b = putString(b, msgs[i].Err)
		b = binary.AppendUvarint(b, uint64(len(msgs[i].Meta)))
		for _, m := range msgs[i].Meta {
			b = putString(b, m.K)
			if m.Int {
				var digits [20]byte
				b = putBytes(b, strconv.AppendInt(digits[:0], m.I, 10))
			} else {
				b = putString(b, m.S)
			}
		}
	}
	return b
}

func encodeReleased(b []byte, seqs []uint64) []byte {
	b = append(b, walReleased)
	b = binary.AppendUvarint(b, uint64(len(seqs)))
	for _, s := range seqs {
		b = binary.AppendUvarint(b, s)
	}
	return b
}

func decodeReleased(p []byte, into map[uint64]bool) error {
	d := decoder{p: p}
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		into[d.uvarint()] = true
	}
	return d.err
}

func encodePositions(b []byte, pos map[partitionKey]*OffsetSet) []byte {
	b = append(b, walPositions)
	b = binary.AppendUvarint(b, uint64(len(pos)))
	for k, s := range pos {
		b = putString(b, k.topic)
		b = binary.AppendVarint(b, k.partition)
		b = binary.AppendUvarint(b, uint64(len(s.r)))
		for _, r := range s.r {
			b = binary.AppendVarint(b, r.lo)
			b = binary.AppendVarint(b, r.hi)
		}
	}
	return b
}

var errCorrupt = errors.New("corrupt record")

// decoder reads the encoding above; the first error sticks.
type decoder struct {
	p   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.p)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.p)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.p)) {
		d.err = errCorrupt
		return nil
	}
	b := d.p[:n:n]
	d.p = d.p[n:]
	return b
}

func decodeBatch(p []byte) (uint64, []Msg, error) {
	d := decoder{p: p}
	seq := d.uvarint()
	n := d.uvarint()
	if n > uint64(len(p)) {
		return 0, nil, errCorrupt
	}
	msgs := make([]Msg, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		m := Msg{Body: d.bytes()}
		m.Err = string(d.bytes())
		nm := d.uvarint()
		if nm > uint64(len(d.p)) {
			return 0, nil, errCorrupt
		}
		m.Meta = make([]Meta, 0, nm)
		for j := uint64(0); j < nm && d.err == nil; j++ {
			k := string(d.bytes())
			m.Meta = append(m.Meta, Meta{K: k, S: string(d.bytes())})
		}
		m.Locate()
		msgs = append(msgs, m)
	}
	return seq, msgs, d.err
}

func decodePositions(p []byte, w *Log) error {
	d := decoder{p: p}
	n := d.uvarint()
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := partitionKey{topic: string(d.bytes()), partition: d.varint()}
		nr := d.uvarint()
		if nr > uint64(len(d.p)) {
			return errCorrupt
		}
		for j := uint64(0); j < nr && d.err == nil; j++ {
			lo, hi := d.varint(), d.varint()
			if d.err == nil && lo <= hi {
				w.offsets(k).AddRange(lo, hi)
			}
		}
	}
	return d.err
}

// readRecords calls fn for each intact record. It stops quietly at a torn
// tail (short frame or checksum mismatch): such a write was never synced, so
// never acknowledged. A record that checks out but does not decode is a
// real error.
func readRecords(raw []byte, fn func(kind byte, payload []byte) error) error {
	for pos := 0; len(raw) >= 8; {
		n := binary.LittleEndian.Uint32(raw[0:4])
		sum := binary.LittleEndian.Uint32(raw[4:8])
		if uint64(n) > uint64(len(raw)-8) || n == 0 {
			return nil
		}
		p := raw[8 : 8+n]
		if crc32.Checksum(p, crcTable) != sum {
			return nil
		}
		if err := fn(p[0], p[1:]); err != nil {
			return fmt.Errorf("record at byte %d: %w", pos, err)
		}
		raw = raw[8+n:]
		pos += 8 + int(n)
	}
	return nil
}
