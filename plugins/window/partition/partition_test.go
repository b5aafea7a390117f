package partition

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestResumeRoundTripsThroughCommitMetadata(t *testing.T) {
	full := Resume{Watermark: 1767225600123456789, Released: 1767225600123456789}
	for i := range MaxDead {
		full.Dead = append(full.Dead, 9_000_000_000_000_000+int64(i))
	}
	idle := Resume{Watermark: 1767225600123456789, Released: NoWatermark}
	for i := range MaxIdle {
		idle.Idle = append(idle.Idle, IdleMark{At: 9_000_000_000_000_000 + int64(i), WM: 1767225600123456789 + int64(i)})
	}
	for _, r := range []Resume{{Watermark: 1767225600123456789, Released: NoWatermark}, full, idle} {
		meta := r.Encode()
		if len(meta) > 4096 {
			t.Fatalf("metadata of %d bytes exceeds Kafka's default offset.metadata.max.bytes", len(meta))
		}
		got, err := DecodeResume(meta)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Fatalf("DecodeResume(%s) = %+v, %v; want %+v", meta, got, err, r)
		}
	}
}

// Offsets committed by other consumers (Connect's redpanda input stores its
// member id) resume Fresh, with an error that says why, for the log.
func TestForeignCommitMetadataResumesFresh(t *testing.T) {
	for _, meta := range []string{"", "member-7f3a", `{"v":2,"wm":1,"rel":1}`} {
		got, err := DecodeResume(meta)
		if !reflect.DeepEqual(got, Fresh) || err == nil {
			t.Fatalf("DecodeResume(%q) = %+v, %v; want Fresh and an error", meta, got, err)
		}
	}
	if _, err := DecodeResume("member-7f3a"); !strings.Contains(err.Error(), "not written by window_kafka") {
		t.Fatalf("error %q does not say where the metadata came from", err)
	}
}

// A partition is caught up only when everything up to the high watermark
// was delivered and taken in, and the source is waiting for records.
func TestCaughtUpNeedsDeliveredReceivedAndAWaitingSource(t *testing.T) {
	waiting := false
	p := NewPartition("ev", 0, Fresh, 0, func() bool { return waiting })
	if p.CaughtUp() {
		t.Fatal("caught up before any fetch told the high watermark")
	}
	p.Fetched(2)
	b := p.NewBatch(0, 1, nil)
	waiting = true
	if p.CaughtUp() {
		t.Fatal("caught up while a delivered batch has not reached the buffer")
	}
	b.Received()
	if !p.CaughtUp() {
		t.Fatal("not caught up with every record delivered and received and the source waiting")
	}
	waiting = false
	if p.CaughtUp() {
		t.Fatal("caught up while the source is not waiting for records (held back by the pipeline)")
	}
	waiting = true
	p.Fetched(5)
	if p.CaughtUp() || p.Lag() != 3 {
		t.Fatalf("caught up %v, lag %d with records 2..4 not delivered; want false, 3", p.CaughtUp(), p.Lag())
	}
}

// Revocation waits for the batches already delivered, and refuses new ones.
func TestMarkRevokedWaitsForDeliveredBatches(t *testing.T) {
	p := NewPartition("ev", 0, Fresh, 0, nil)
	b := p.NewBatch(0, 9, nil)
	ch := p.MarkRevoked()
	select {
	case <-ch:
		t.Fatal("revocation went on with a delivered batch not received")
	default:
	}
	if p.NewBatch(10, 19, nil) != nil {
		t.Fatal("a revoked partition accepted a new batch")
	}
	b.Received()
	b.Received() // idempotent
	select {
	case <-ch:
	default:
		t.Fatal("revocation still waiting after the batch was received")
	}
}

// Done reports a batch's outcome once; Taken tells the source to leave it
// to the buffer.
func TestBatchDoneOnce(t *testing.T) {
	var calls []error
	p := NewPartition("ev", 0, Fresh, 0, nil)
	b := p.NewBatch(0, 0, func(err error) { calls = append(calls, err) })
	if b.Taken() {
		t.Fatal("taken before the buffer took it")
	}
	b.Take()
	b.Done(nil)
	b.Done(errTest)
	if len(calls) != 1 || calls[0] != nil || !b.Taken() {
		t.Fatalf("outcomes %v, want one nil", calls)
	}
}

var errTest = errors.New("test")
