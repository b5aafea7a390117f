// Package partition is the contract between a partition-aware Kafka source
// (the window_kafka input) and the window buffer: which partition a batch
// came from, where the partition's window state must resume, and how the
// buffer tells the source which offsets are safe to commit.
//
// It has no Benthos or Kafka client types, so the source, the buffer and
// their tests share it without depending on each other.
//
// The model follows Kafka Streams' tasks: window state belongs to one source
// partition (a key lives in one partition), each partition's windows close
// by its own event time, and a partition's committed offset carries, in its
// metadata, what a new owner needs to continue exactly where the old one
// stopped (Resume). The new owner replays from the committed offset: windows
// that the old owner already wrote are recomputed but not emitted again.
package partition

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/streamkit/pipeline/internal/meta"
)

// MetaKey is the metadata key under which the source attaches its *Batch to
// every message (with MetaSetMut). The leading @ marks it as in-process:
// outputs that copy metadata into headers exclude such keys.
const MetaKey = meta.StashWindowSourceBatch

// NoWatermark means "no event seen yet".
const NoWatermark = math.MinInt64

// Resume is what the committed offset of a partition says about its window
// state, in event time (unix ns):
//
//   - Watermark is the partition's watermark after every record before the
//     committed offset. Replaying from that offset with this watermark
//     reproduces the same watermarks, so the same windows close at the same
//     records and the same events are late.
//
//   - Released: every window that closes at or below this watermark (window
//     end + allowed lateness <= Released) has been written by the old owner.
//     Such windows are recomputed during the replay but not emitted again;
//     every other window has all its events at or after the committed
//     offset, so its replayed result is byte-identical to a first emission.
//
//   - Dead lists offsets at or after the committed one whose events failed,
//     climbed the retry ladder and were dead-lettered: replayed, they are
//     skipped, so an event is never both in the dead-letter topic and in
//     a window (its enrichment could succeed on the replay).
//
//   - Passed: the messages the buffer passes through (validation failures,
//     late events) of every offset below it are written; a replay drops
//     them instead of writing them again.
//
//   - Snap names a snapshot of the partition's open windows (state.go)
//     taken before an offset at or below the committed one: the new owner
//     loads it, then replays from the committed offset. Without it, every
//     open window has all its events at or after the committed offset.
//
//   - Idle lists the times the partition went idle after the committed
//     offset: the replay moves the watermark where idleness moved it, at
//     the same record, so the same windows close before the same records
//     and the records after are judged against the same watermark. (Idleness
//     is decided by the wall clock, which a replay cannot reproduce.)
type Resume struct {
	Watermark int64        `json:"wm"`
	Released  int64        `json:"rel"`
	Dead      []int64      `json:"dead,omitempty"`
	Passed    int64        `json:"pass,omitempty"`
	Snap      *SnapshotRef `json:"snap,omitempty"`
	Idle      []IdleMark   `json:"idle,omitempty"`
}

// IdleMark is one idleness decision: after the records below At (and
// before record At), the partition's watermark moved to WM.
type IdleMark struct {
	At int64 `json:"at"`
	WM int64 `json:"wm"`
}

// MaxDead bounds Resume.Dead so the metadata stays under Kafka's default
// offset.metadata.max.bytes (4 KiB); the oldest entries go first.
const MaxDead = 200

// MaxIdle bounds Resume.Idle: each entry takes an idle period while the
// commit is held back (a window open across them, no snapshot since). At
// ~50 bytes an entry, the metadata stays under 4 KiB with MaxDead offsets
// of up to 16 digits.
const MaxIdle = 8

// Fresh is the resume point of a partition nothing was committed for.
var Fresh = Resume{Watermark: NoWatermark, Released: NoWatermark}

// metaVersion tags the commit metadata format.
const metaVersion = 1

type commitMeta struct {
	V int `json:"v"`
	Resume
}

// Encode renders r as commit metadata (well under Kafka's default 4 KiB
// offset.metadata.max.bytes).
func (r Resume) Encode() string {
	b, _ := json.Marshal(commitMeta{V: metaVersion, Resume: r})
	return string(b)
}

// DecodeResume reads commit metadata written by Encode. Metadata written by
// other consumers (franz-go and Connect's inputs store the member id there)
// is not an error: the partition resumes Fresh from the committed offset,
// which the returned error explains for the log.
func DecodeResume(meta string) (Resume, error) {
	if meta == "" {
		return Fresh, fmt.Errorf("no window state in the commit metadata")
	}
	var m commitMeta
	if err := json.Unmarshal([]byte(meta), &m); err != nil || m.V != metaVersion {
		return Fresh, fmt.Errorf("commit metadata %q was not written by window_kafka (version %d)", truncate(meta, 64), metaVersion)
	}
	return m.Resume, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

var sources atomic.Int64

// SourceStarted and SourceStopped count the window_kafka inputs connected in
// this process. While one is, the buffer windows events that come from
// elsewhere (retried events, whose metadata names the partition they first
// came from) in the state of that partition, not in a shared state.
func SourceStarted() { sources.Add(1) }

// SourceStopped undoes SourceStarted.
func SourceStopped() { sources.Add(-1) }

// SourcesActive reports whether a window_kafka input is connected.
func SourcesActive() bool { return sources.Load() > 0 }

// Sink is the buffer's side of one partition. The source calls it; the
// buffer attaches it on the first batch it receives from the partition.
type Sink interface {
	// Checkpoint returns the resume point for committing offset next: the
	// partition's watermark after the records before next, and the released
	// watermark. next is always the first offset of a batch the buffer has
	// not acknowledged, or the offset after the last delivered record when
	// every batch is acknowledged.
	Checkpoint(next int64) Resume
	// Committed reports that the resume point the last Checkpoint returned
	// was committed.
	Committed()
	// Covered is the offset below which a durable snapshot (state.go)
	// holds every event not yet reflected in the results (-1: none):
	// batches below it are safe to commit whether or not the buffer
	// acknowledged them.
	Covered() int64
	// Drop forgets the partition's state without emitting anything: the
	// partition was revoked or lost, and its new owner replays it.
	Drop()
}

// Partition is one assigned source partition. The source creates it on
// assignment and marks it revoked before handing the partition back.
type Partition struct {
	Topic  string
	ID     int32
	Resume Resume // from the committed offset's metadata
	Start  int64  // the committed offset the partition resumes from
	// Retry marks a partition of a retry topic consumed with the source
	// (co-partitioned: its records are retry copies of events of the
	// source partitions with the same number, owned by the same consumer).
	// Its batches carry no window state of their own.
	Retry bool
	// Snapshots, when its Store is set, bound the replay of a partition
	// whose windows stay open long (state.go).
	Snapshots Snapshots

	mu       sync.Mutex
	sink     Sink
	revoked  bool
	inFlight int   // delivered batches neither received by the buffer nor acked
	next     int64 // offset after the last delivered record
	readTo   int64 // offset after the last record fetched, transaction markers included
	hwm      int64 // high watermark from the last fetch; -1: unknown
	idle     func() bool
	drained  chan struct{} // closed when inFlight drops to 0 (revocation waits)
	snap     snapshotLoad  // the snapshot Resume.Snap names, once loaded (state.go)
	failed   error         // the buffer cannot window the partition (Fail)
}

// NewPartition returns partition id of topic, resuming at r. sourceIdle
// reports whether the source is waiting for records (not held back by the
// pipeline), which CaughtUp needs.
func NewPartition(topic string, id int32, r Resume, start int64, sourceIdle func() bool) *Partition {
	return &Partition{Topic: topic, ID: id, Resume: r, Start: start, next: start, hwm: -1, idle: sourceIdle}
}

// Attach records the buffer's side of the partition; the first call wins and
// every later caller gets that sink back. A partition handed back gets none
// (nil): the source drops the sink it finds after marking the partition
// revoked, so one attached later would live on with nobody to drop it.
func (p *Partition) Attach(newSink func() Sink) Sink {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.sink == nil {
		if p.revoked {
			return nil
		}
		p.sink = newSink()
	}
	return p.sink
}

// Sink returns the attached sink, or nil before the buffer received a batch.
func (p *Partition) Sink() Sink {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sink
}

// Fail records that the buffer cannot window the partition (its state could
// not be set up): every batch of it fails until it is assigned again, so the
// source stops reading it.
func (p *Partition) Fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.failed == nil {
		p.failed = err
	}
}

// Failed returns what Fail recorded (nil: nothing).
func (p *Partition) Failed() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.failed
}

// Revoked reports whether the partition was handed back: batches of it that
// reach the buffer afterwards are dropped (the new owner replays them).
func (p *Partition) Revoked() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.revoked
}

// MarkRevoked stops deliveries of the partition; it returns a channel closed
// once no delivered batch is in flight any more.
func (p *Partition) MarkRevoked() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.revoked = true
	if p.inFlight == 0 {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	if p.drained == nil {
		p.drained = make(chan struct{})
	}
	return p.drained
}

// Fetched records the partition's high watermark from a fetch response.
func (p *Partition) Fetched(hwm int64) {
	p.mu.Lock()
	p.hwm = hwm
	p.mu.Unlock()
}

// ListedEnd records the partition's end offset from a ListOffsets request,
// unless a fetch told it already: a partition with nothing after its
// committed offset returns no fetch, and without its end it could never be
// caught up, so never idle.
func (p *Partition) ListedEnd(end int64) {
	p.mu.Lock()
	if p.hwm < 0 {
		p.hwm = end
	}
	p.mu.Unlock()
}

// NewBatch registers a batch of records [first, last] about to be delivered;
// done is called with the batch's outcome (see Batch.Done). It returns nil
// if the partition was revoked meanwhile.
func (p *Partition) NewBatch(first, last int64, done func(error)) *Batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.revoked {
		return nil
	}
	p.inFlight++
	p.next = last + 1
	return &Batch{Part: p, First: first, Last: last, done: done}
}

func (p *Partition) settle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inFlight--
	if p.inFlight == 0 && p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
}

// ReadTo records that the source read the partition up to off (exclusive),
// transaction markers included, which are never delivered.
func (p *Partition) ReadTo(off int64) {
	p.mu.Lock()
	p.readTo = max(p.readTo, off)
	p.mu.Unlock()
}

// CaughtUp reports whether the partition has nothing left to deliver: every
// record up to the last known high watermark was delivered and reached the
// buffer, and the source is waiting for new records. Only a caught-up
// partition may be declared idle; one that is merely behind never is.
func (p *Partition) CaughtUp() bool {
	p.mu.Lock()
	// readTo counts only once the source waits (p.idle): then every
	// record fetched before a trailing marker was delivered too.
	caught := p.hwm >= 0 && max(p.next, p.readTo) >= p.hwm && p.inFlight == 0
	p.mu.Unlock()
	return caught && (p.idle == nil || p.idle())
}

// Lag is the number of records between the last delivered one and the high
// watermark (-1 while unknown).
func (p *Partition) Lag() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hwm < 0 {
		return -1
	}
	return max(0, p.hwm-p.next)
}

// Batch is a run of consecutive records of one partition delivered together.
//
// Its life: the source delivers it; the buffer Takes it (from then on the
// buffer, not the pipeline's acknowledgement, reports its outcome, so the
// pipeline's transaction can end at once and the input holds no messages of
// open windows); the buffer calls Received once its events are in the
// partition's state, and Done once every window they fed was written.
type Batch struct {
	Part        *Partition
	First, Last int64 // offsets, inclusive
	done        func(error)
	taken       atomic.Bool
	received    atomic.Bool
	finished    atomic.Bool
	text        atomic.Pointer[[]byte] // MarshalJSON's, made once
}

// Take marks the batch as the buffer's: the outcome comes from Done.
func (b *Batch) Take() { b.taken.Store(true) }

// Taken reports whether the buffer took the batch. When the pipeline acks a
// batch the buffer never took (processors filtered every message), the
// source settles it itself.
func (b *Batch) Taken() bool { return b.taken.Load() }

// Received: the batch's events are in the partition's state (or the batch
// was dropped); a revocation waiting for the partition's batches goes on.
// Idempotent.
func (b *Batch) Received() {
	if b.received.CompareAndSwap(false, true) {
		b.Part.settle()
	}
}

// Done reports the batch's outcome once: nil when every window its events
// fed (and every window that closed before them) was written, an error when
// it must be consumed again by the partition's next owner.
func (b *Batch) Done(err error) {
	if b.finished.CompareAndSwap(false, true) && b.done != nil {
		b.done(err)
	}
}

// MarshalJSON renders the batch as "topic/partition:first-last". Benthos
// renders every metadata value as text whenever an output copies metadata
// into headers (filtering by key afterwards), and a value without a text
// form of its own is JSON-encoded by reflection: for this one, set on every
// message of the source, that was a tenth of a pass-through's CPU. The text
// is made once per batch (callers must not modify it; encoding/json copies).
func (b *Batch) MarshalJSON() ([]byte, error) {
	if t := b.text.Load(); t != nil {
		return *t, nil
	}
	s := b.Part.Topic + "/" + strconv.Itoa(int(b.Part.ID)) + ":" +
		strconv.FormatInt(b.First, 10) + "-" + strconv.FormatInt(b.Last, 10)
	t := strconv.AppendQuote(nil, s)
	b.text.Store(&t)
	return t, nil
}
