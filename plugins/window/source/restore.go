package source

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// A partition whose committed offset names a snapshot is restoring until
// the snapshot is read: its fetched records are held here (its fetches
// paused once a batch's worth waits) and none is delivered, since a batch
// windowed without the state before it would emit windows missing their
// earlier events. The snapshot is read on a goroutine of its own, retried
// until it succeeds or the partition is handed back, so a slow or
// unreachable state topic holds back this partition only.
type restoring struct {
	t      *tracker
	recs   []*kgo.Record
	paused bool
	cancel context.CancelFunc
}

// restoreBackoff is the wait before the attempt after a failed one.
func restoreBackoff(failures int) time.Duration {
	return min(time.Second<<min(failures-1, 5), 30*time.Second)
}

// startRestoreLocked marks t's partition restoring and reads its snapshot.
// Callers hold in.mu.
func (in *input) startRestoreLocked(t *tracker) {
	ctx, cancel := context.WithCancel(context.Background())
	k := tp{t.part.Topic, t.part.ID}
	in.restoring[k] = &restoring{t: t, cancel: cancel}
	go in.restore(ctx, k, t)
}

func (in *input) restore(ctx context.Context, k tp, t *tracker) {
	for failures := 1; ; failures++ {
		err := t.part.LoadSnapshot(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return // handed back or closing
		}
		if in.m.restoreErrors != nil {
			in.m.restoreErrors.Incr(1)
		}
		wait := in.restoreWait(failures)
		if in.log != nil {
			in.log.Errorf("window_kafka: %v; nothing of the partition is delivered until it is read (next attempt in %v)", err, wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-in.closed:
			return
		case <-time.After(wait):
		}
	}
	in.mu.Lock()
	r := in.restoring[k]
	if r == nil || r.t != t {
		in.mu.Unlock()
		return // handed back meanwhile
	}
	delete(in.restoring, k)
	in.readyLocked(t)
	in.pendLocked(t, r.recs)
	if r.paused && in.cl != nil {
		in.cl.ResumeFetchPartitions(map[string][]int32{k.topic: {k.part}})
	}
	wake := in.wakePoll
	in.mu.Unlock()
	if wake != nil {
		wake() // the held records are ready: no need to wait out the poll
	}
}

// holdLocked keeps recs of a restoring partition, pausing its fetches once
// a batch's worth waits; false if the partition is not restoring.
func (in *input) holdLocked(k tp, recs []*kgo.Record) bool {
	r := in.restoring[k]
	if r == nil {
		return false
	}
	r.recs = append(r.recs, recs...)
	if len(r.recs) >= in.maxBatch && !r.paused && in.cl != nil {
		in.cl.PauseFetchPartitions(map[string][]int32{k.topic: {k.part}})
		r.paused = true
	}
	return true
}

// forgetRestoringLocked stops the restore of a partition handed back and
// drops what it held (the next owner fetches it again from the committed
// offset), resuming its fetches so a later assignment is not left paused.
func (in *input) forgetRestoringLocked(k tp) {
	r := in.restoring[k]
	if r == nil {
		return
	}
	r.cancel()
	if r.paused && in.cl != nil {
		in.cl.ResumeFetchPartitions(map[string][]int32{k.topic: {k.part}})
	}
	delete(in.restoring, k)
}

// haltLocked drops the records of a partition the buffer failed (every
// batch of it would fail until it is assigned again) and pauses its
// fetches, so its backlog is not read for nothing and its lag shows it
// stuck; false if the partition did not fail.
func (in *input) haltLocked(t *tracker) bool {
	err := t.part.Failed()
	if err == nil {
		return false
	}
	k := tp{t.part.Topic, t.part.ID}
	if _, ok := in.halted[k]; !ok {
		in.halted[k] = struct{}{}
		if in.cl != nil {
			in.cl.PauseFetchPartitions(map[string][]int32{k.topic: {k.part}})
		}
		if in.log != nil {
			in.log.Errorf("window_kafka: %s/%d is no longer read until it is assigned again (a restart or a rebalance): %v", k.topic, k.part, err)
		}
	}
	return true
}

// forgetHaltedLocked resumes the fetches of a halted partition handed back.
func (in *input) forgetHaltedLocked(k tp) {
	if _, ok := in.halted[k]; !ok {
		return
	}
	if in.cl != nil {
		in.cl.ResumeFetchPartitions(map[string][]int32{k.topic: {k.part}})
	}
	delete(in.halted, k)
}
