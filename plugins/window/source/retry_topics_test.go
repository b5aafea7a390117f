package source

import (
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/meta"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

func retryRecord(off int64, due time.Time) *kgo.Record {
	return &kgo.Record{Topic: "ev-retry-1", Partition: 2, Offset: off,
		Headers: []kgo.RecordHeader{{Key: meta.RetryDueMs, Value: []byte(strconv.FormatInt(due.UnixMilli(), 10))}}}
}

// Retry copies are delivered in offset order once due, a batch at most
// maxBatch records; what is not due waits, and the input says how long.
func TestDelayedRetryCopiesAreDeliveredWhenDue(t *testing.T) {
	now := time.Now()
	in := &input{maxBatch: 2, delayed: map[tp]*delayed{}}
	tr := newTracker(partition.NewPartition("ev-retry-1", 2, partition.Fresh, 0, nil))
	in.delayLocked(tr, []*kgo.Record{
		retryRecord(10, now.Add(-time.Second)), retryRecord(11, now.Add(-time.Second)),
		retryRecord(12, now.Add(-time.Millisecond)), retryRecord(13, now.Add(3*time.Second)),
	})
	wait := in.dueLocked(now)
	if len(in.pending) != 1 || in.pending[0].recs[0].Offset != 10 || len(in.pending[0].recs) != 2 {
		t.Fatalf("pending %v: want one batch of offsets 10, 11 (maxBatch 2)", in.pending)
	}
	if wait != time.Millisecond {
		t.Fatalf("next due in %v, want at once (offset 12 is due)", wait)
	}
	in.pending = nil
	wait = in.dueLocked(now)
	if len(in.pending) != 1 || in.pending[0].recs[0].Offset != 12 || len(in.pending[0].recs) != 1 {
		t.Fatalf("pending %v: want offset 12 alone (13 is not due)", in.pending)
	}
	if wait < 2900*time.Millisecond || wait > 3*time.Second {
		t.Fatalf("next due in %v, want ~3s", wait)
	}
	in.pending = nil
	if in.dueLocked(now.Add(3 * time.Second)); len(in.pending) != 1 || in.pending[0].recs[0].Offset != 13 || len(in.delayed) != 0 {
		t.Fatalf("pending %v, delayed %d: want offset 13 and nothing left", in.pending, len(in.delayed))
	}
}
