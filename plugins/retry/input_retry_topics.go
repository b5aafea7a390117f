package retry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/kafkaconn"
	"github.com/twmb/franz-go/pkg/kgo"
)

// pollRecords bounds one poll so a huge backlog is handed to the gate in
// slices and the rebalance block of a poll stays short.
const pollRecords = 1000

// closeAckWait bounds how long Close waits for in-flight records to be
// acknowledged so their offsets make the final commit.
const closeAckWait = 2 * time.Second

type retryTopicsInput struct {
	log    *service.Logger
	clock  Clock
	opts   []kgo.Opt
	maxBuf int
	// restoreOrigin: see the restore_origin field.
	restoreOrigin bool
	release       *service.MetricCounter
	late          *service.MetricTimer

	mu      sync.Mutex
	client  atomic.Pointer[kgo.Client]
	gate    *Gate[*kgo.Record]
	acks    *ackTracker
	cancel  context.CancelFunc
	pollEnd chan struct{}
}

func newRetryTopicsInput(conf *service.ParsedConfig, mgr *service.Resources, clock Clock) (*retryTopicsInput, error) {
	cc, err := kafkaconn.ParseConsumer(conf)
	if err != nil {
		return nil, err
	}
	commitPeriod, err := conf.FieldDuration(inFieldCommitPeriod)
	if err != nil {
		return nil, err
	}
	if commitPeriod < 100*time.Millisecond {
		// franz-go rejects shorter autocommit intervals at connect time,
		// which would only show up as endless reconnects.
		return nil, fmt.Errorf("commit_period: must be at least 100ms, got %v", commitPeriod)
	}
	fetchWait, err := conf.FieldDuration(inFieldFetchMaxWait)
	if err != nil {
		return nil, err
	}
	if fetchWait < 10*time.Millisecond {
		return nil, fmt.Errorf("%s: must be at least 10ms, got %v", inFieldFetchMaxWait, fetchWait)
	}
	maxBuf, err := conf.FieldInt(inFieldMaxBuffered)
	if err != nil {
		return nil, err
	}
	if maxBuf < 1 {
		return nil, fmt.Errorf("max_buffered: must be at least 1, got %d", maxBuf)
	}
	oldest, err := conf.FieldBool(inFieldStartOldest)
	if err != nil {
		return nil, err
	}
	restore, err := conf.FieldBool(inFieldRestoreOrigin)
	if err != nil {
		return nil, err
	}
	reset := kgo.NewOffset().AtEnd()
	if oldest {
		reset = kgo.NewOffset().AtStart()
	}

	in := &retryTopicsInput{
		log:           mgr.Logger(),
		clock:         clock,
		maxBuf:        maxBuf,
		restoreOrigin: restore,
		release:       mgr.Metrics().NewCounter("retry_released", "topic"),
		late:          mgr.Metrics().NewTimer("retry_release_lateness", "topic"),
	}
	in.opts = append(cc.GroupOpts(),
		kgo.ConsumeResetOffset(reset),
		// Only offsets we marked after a downstream ack are committed.
		kgo.AutoCommitMarks(),
		kgo.AutoCommitInterval(commitPeriod),
		// Resuming a partition does not add it to a fetch already waiting
		// at the broker; a short wait bounds how long it sits out.
		kgo.FetchMaxWait(fetchWait),
		// Rebalances wait until a poll's records are in the gate, so a
		// revoke never races with records of the revoked partitions
		// being buffered.
		kgo.BlockRebalanceOnPoll(),
	)
	return in, nil
}

func (r *retryTopicsInput) Connect(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client.Load() != nil {
		return nil
	}
	// The gate and tracker exist before the client so group callbacks,
	// which may fire as soon as the client exists, always find them.
	gate := NewGate[*kgo.Record](r.clock, r.pausePartition, r.resumePartition)
	acks := newAckTracker(r.markOffset)
	opts := append(append([]kgo.Opt(nil), r.opts...),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			acks.assign(toTPs(m))
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, m map[string][]int32) {
			r.onRevoked(ctx, cl, gate, acks, toTPs(m))
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			// Unlike a revoke there is no commit: the partitions already
			// belong to someone else and a commit would be stale.
			forget(gate, acks, toTPs(m))
		}),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	if err := cl.Ping(ctx); err != nil {
		cl.Close()
		return err
	}
	r.client.Store(cl)
	r.gate, r.acks = gate, acks
	pollCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.pollEnd = make(chan struct{})
	go r.pollLoop(pollCtx, cl, r.gate, r.pollEnd)
	return nil
}

// pollLoop moves fetched records into the gate. It never waits for a due
// time itself; the gate pauses partitions instead.
func (r *retryTopicsInput) pollLoop(ctx context.Context, cl *kgo.Client, gate *Gate[*kgo.Record], done chan struct{}) {
	defer close(done)
	for {
		if err := gate.WaitSpace(ctx, r.maxBuf); err != nil {
			return
		}
		fetches := cl.PollRecords(ctx, pollRecords)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			cl.AllowRebalance()
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			r.log.Warnf("retry_topics: fetch error on %s/%d: %v", t, p, err)
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			pend := make([]Pending[*kgo.Record], len(p.Records))
			for i, rec := range p.Records {
				pend[i] = Pending[*kgo.Record]{Value: rec, Due: r.dueOf(rec)}
			}
			gate.Add(TP{p.Topic, p.Partition}, pend)
		})
		cl.AllowRebalance()
	}
}

// dueOf reads retry_due_ms; a record without a valid one is due at once
// rather than stuck forever.
func (r *retryTopicsInput) dueOf(rec *kgo.Record) time.Time {
	for _, h := range rec.Headers {
		if h.Key != meta.RetryDueMs {
			continue
		}
		ms, err := strconv.ParseInt(string(h.Value), 10, 64)
		if err != nil {
			r.log.Warnf("retry_topics: %s/%d@%d has invalid %s %q, releasing now", rec.Topic, rec.Partition, rec.Offset, meta.RetryDueMs, h.Value)
			return time.Time{}
		}
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// readBatchMax bounds how many records released together are handed
// downstream as one batch.
const readBatchMax = 256

func (r *retryTopicsInput) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	r.mu.Lock()
	gate, acks := r.gate, r.acks
	r.mu.Unlock()
	if gate == nil {
		return nil, nil, service.ErrNotConnected
	}
	rels, err := gate.NextBatch(ctx, readBatchMax)
	if errors.Is(err, errGateClosed) {
		return nil, nil, service.ErrNotConnected
	}
	if err != nil {
		return nil, nil, err
	}
	now := r.clock.Now()
	batch := make(service.MessageBatch, len(rels))
	ackFns := make([]func(), len(rels))
	for i, rel := range rels {
		rec := rel.Value
		if !rel.Due.IsZero() {
			r.late.Timing(int64(now.Sub(rel.Due)), rec.Topic)
		}
		r.release.Incr(1, rec.Topic)
		msg := recordToMessage(rec)
		if r.restoreOrigin {
			restoreOrigin(msg)
		}
		msg.MetaSetMut(meta.RetryReleasedMs, now.UnixMilli())
		batch[i] = msg
		ackFns[i] = acks.deliver(rel.TP, rec.Offset, rec.LeaderEpoch)
	}
	return batch, func(_ context.Context, err error) error {
		// Nacks are replayed by the AutoRetryNacksBatched wrapper and
		// never get here; anything without an error is safe to commit.
		if err == nil {
			for _, ack := range ackFns {
				ack()
			}
		}
		return nil
	}, nil
}

// recordToMessage mirrors the redpanda input's metadata so processors see
// the same fields whichever input a message came from.
func recordToMessage(rec *kgo.Record) *service.Message {
	msg := service.NewMessage(rec.Value)
	for _, h := range rec.Headers {
		if h.Key == meta.RetryStageTopic || h.Key == meta.RetryStageKey {
			continue
		}
		msg.MetaSetMut(h.Key, string(h.Value))
	}
	msg.MetaSetMut(meta.KafkaKey, string(rec.Key))
	msg.MetaSetMut(meta.KafkaTopic, rec.Topic)
	msg.MetaSetMut(meta.KafkaPartition, int(rec.Partition))
	msg.MetaSetMut(meta.KafkaOffset, int(rec.Offset))
	msg.MetaSetMut(meta.KafkaTimestampUnix, rec.Timestamp.Unix())
	msg.MetaSetMut(meta.KafkaTimestampMs, rec.Timestamp.UnixMilli())
	return msg
}

// restoreOrigin makes a retried event part of the stream it first came
// from: kafka_topic/kafka_partition are the original record's (as the
// header strings the router wrote) and the stage offset is dropped. A
// record without retry state is left as read.
func restoreOrigin(msg *service.Message) {
	topic, ok := msg.MetaGet(meta.RetryOriginalTopic)
	if !ok {
		return
	}
	msg.MetaSetMut(meta.KafkaTopic, topic)
	if part, ok := msg.MetaGet(meta.RetryOriginalPartition); ok {
		msg.MetaSetMut(meta.KafkaPartition, part)
	}
	msg.MetaDelete(meta.KafkaOffset)
}

func (r *retryTopicsInput) pausePartition(tp TP) {
	if cl := r.client.Load(); cl != nil {
		cl.PauseFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
	}
}

func (r *retryTopicsInput) resumePartition(tp TP) {
	if cl := r.client.Load(); cl != nil {
		cl.ResumeFetchPartitions(map[string][]int32{tp.Topic: {tp.Partition}})
	}
}

func (r *retryTopicsInput) markOffset(tp TP, next int64, epoch int32) {
	if cl := r.client.Load(); cl != nil {
		cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{
			tp.Topic: {tp.Partition: {Epoch: epoch, Offset: next}},
		})
	}
}

// onRevoked forgets the partitions and then commits what was acknowledged
// so far, so the next owner starts right after it.
func (r *retryTopicsInput) onRevoked(ctx context.Context, cl *kgo.Client, gate *Gate[*kgo.Record], acks *ackTracker, tps []TP) {
	forget(gate, acks, tps)
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		r.log.Warnf("retry_topics: commit on revoke: %v", err)
	}
}

// forget drops partitions from the tracker (so late acks cannot mark them)
// and from the gate (buffered records dropped, pauses lifted, because
// franz-go keeps pauses across rebalances).
func forget(gate *Gate[*kgo.Record], acks *ackTracker, tps []TP) {
	acks.drop(tps)
	gate.Drop(tps)
}

func toTPs(m map[string][]int32) []TP {
	var out []TP
	for t, ps := range m {
		for _, p := range ps {
			out = append(out, TP{t, p})
		}
	}
	return out
}

func (r *retryTopicsInput) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cl := r.client.Load()
	if cl == nil {
		return nil
	}
	r.cancel()
	<-r.pollEnd
	r.acks.waitIdle(ctx, closeAckWait)
	r.gate.Close()
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		r.log.Warnf("retry_topics: final commit: %v", err)
	}
	// Close leaves the group, which runs onRevoked (and its commit) once
	// more; the client pointer stays set until then so the callbacks work.
	cl.Close()
	r.client.Store(nil)
	r.gate, r.acks = nil, nil
	return nil
}
