// Package source is the window_kafka input: a consumer-group Kafka source
// (franz-go) built for the window buffer. Unlike Connect's redpanda input it
// tells the buffer which partition every batch comes from, hands partitions
// over only after the buffer dropped their state, commits only what the
// buffer made safe, and stores in each commit what the next owner needs to
// resume the partition's windows exactly (see package partition).
package source

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamkit/pipeline/internal/kafkaconn"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

const (
	fSeedBrokers      = kafkaconn.FieldSeedBrokers
	fTopics           = kafkaconn.FieldTopics
	fConsumerGroup    = kafkaconn.FieldConsumerGroup
	fClientID         = kafkaconn.FieldClientID
	fInstanceID       = kafkaconn.FieldInstanceID
	fStartOffset      = "start_offset"
	fCommitPeriod     = "commit_period"
	fFetchMaxWait     = "fetch_max_wait"
	fMaxBatch         = "max_batch_records"
	fMaxUnacked       = "max_unacked_records"
	fSessionTimeout   = "session_timeout"
	fRebalanceTimeout = "rebalance_timeout"
	fRetryTopics      = "retry_topics"
	fStateTopic       = "state_topic"
	fStateInterval    = "state_interval"
)

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Consumes Kafka topics in a consumer group for the `window` buffer, with exact window results through restarts, crashes and rebalances.").
		Description(`
The input the ` + "`window`" + ` buffer is built for. Every batch carries the partition it came from, and the
buffer keeps window state and the watermark per source partition (a key lives in one partition, as in
Kafka Streams' tasks), so a quiet, lagging or revoked partition never holds back another, and each
partition's windows close by its own event time.

Offsets are committed only up to what the buffer made safe: the first record of the oldest batch whose
windows are not all written yet. Each commit's metadata holds the partition's watermark at that offset and
how far its windows are written. A new owner of the partition (the same instance after a restart or a
crash, or another instance after a rebalance) replays from the committed offset with that watermark:
windows the previous owner wrote are recomputed but not emitted again, every other window is emitted
once, byte-identical to what an uninterrupted run emits. No local disk is involved.

Long windows (30 min sessions) would keep a partition's commit at their first event, and a restart would
replay that far. So every ` + "`state_interval`" + ` the buffer snapshots each partition's open windows to the
compacted ` + "`state_topic`" + `; once a snapshot is durable (and every window closed before it is written),
the commit moves to the offset it was taken at and names it, and the new owner loads it before replaying
from there. The replay is then bounded by the interval, whatever the windows' length.

When partitions are revoked, the input stops delivering them, waits until the batches already delivered
have reached the buffer, commits, and has the buffer drop their state without emitting anything. A
graceful stop (SIGINT/SIGTERM) likewise emits no half-full window: the next start completes it.

A partition is idle (its remaining windows close after the buffer's ` + "`idle_timeout`" + `) only when it is
caught up with its high watermark and the input is waiting for records; a partition that is behind never
is, so over a backlog the results do not depend on fetch timing.

The window key must be the Kafka key (or a function of it): windows are per partition, so a key spread
over several partitions would produce one result per partition for the same window. Otherwise re-key through
a topic first with the ` + "`window_repartition`" + ` input, which writes each event there exactly once (Kafka
transactions); this input reads committed records only.

Metadata: ` + "`kafka_key`, `kafka_topic`, `kafka_partition`, `kafka_offset`, `kafka_timestamp_ms`, `kafka_timestamp_unix`, `kafka_tombstone_message`, `kafka_lag`" + ` and
every record header, as on the ` + "`redpanda`" + ` input.`).
		Field(service.NewStringListField(fSeedBrokers).
			Description("Brokers to bootstrap from; entries may hold several comma-separated addresses.").
			Example([]string{"localhost:9092"})).
		Fields(kafkaconn.AuthFields()...).
		Field(service.NewStringListField(fTopics).Description("Topics to consume.")).
		Field(service.NewStringListField(fRetryTopics).Default([]any{}).
			Description("Retry topics of the `retry_router` in front of this input's window stage, consumed here with the source: a retried event then comes back to the instance that owns its partition, which holds that partition's windows open for it, whatever the number of instances. Each must have as many partitions as the source topics (one that does not exist is created so), and the router must write a copy to the partition its event came from (`copartition: true`). A copy is delivered when it is due (its `retry_due_ms`), with `kafka_topic`/`kafka_partition` naming its event's partition. The group then uses the range balancer (co-partitioned assignment).").
			Example([]string{"clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3"})).
		Field(service.NewStringField(fConsumerGroup).Description("Consumer group; its committed offsets carry the window state's resume points.")).
		Field(service.NewStringField(fStateTopic).Default("").
			Description("Compacted topic for snapshots of each partition's open windows (default `<consumer_group>-window-state`, created if missing with as many partitions as the first topic). Without snapshots a partition's commit cannot pass the first event of its oldest open window, so with long windows (30 min sessions) a restart or a rebalance replays that far; with them the commit moves to the last durable snapshot, which the new owner loads before it replays from there (a partition whose snapshot cannot be read waits for it, retried with backoff, while the other partitions go on). Snapshots hold window state only: the results are the same with or without them.").
			Example("clickstream-window-state")).
		Field(service.NewDurationField(fStateInterval).Default("30s").
			Description("Least time between two snapshots of a partition (taken only while it has open windows); `0s` turns snapshots off.")).
		Field(service.NewStringField(fClientID).Default("pipeline").Advanced().Description("Client id sent to the brokers.")).
		Field(service.NewStringField(fInstanceID).Default("").
			Description("Static membership (KIP-345) when set, unique per instance (e.g. the pod name): a restarted instance gets its partitions back at once instead of after `session_timeout`. A static member does not leave the group when it stops, so an instance removed for good keeps its partitions until `session_timeout` expires.")).
		Field(service.NewStringEnumField(fStartOffset, "earliest", "latest").Default("earliest").
			Description("Where a partition without a committed offset starts.")).
		Field(service.NewDurationField(fCommitPeriod).Default("1s").Advanced().
			Description("How often safe offsets are committed (also on revocation and on a graceful stop).")).
		Field(service.NewDurationField(fFetchMaxWait).Default("100ms").Advanced().
			Description("Longest a fetch waits for data: also how soon a quiet partition is known to be caught up.")).
		Field(service.NewIntField(fMaxBatch).Default(4000).Advanced().
			Description("Most records of one partition in one batch.")).
		Field(service.NewIntField(fMaxUnacked).Default(65536).Advanced().
			Description("Most records delivered to the pipeline and not yet acknowledged by it; reading waits while they are out. The window buffer acknowledges a batch as soon as it holds its events (its commits wait for the windows, not the pipeline), so this bounds the memory of pipelines without it, whose output may be slower than the topic. Keep it above the `count` of an output batching policy that has no `period`: such a batch would wait for records this bound holds back. A batch larger than the bound is delivered alone.")).
		Field(service.NewDurationField(fSessionTimeout).Default("45s").Advanced().
			Description("How long the group waits for a member that stopped heartbeating (a crashed instance's partitions move after this; with `instance_id`, a restart within it gets them back at once).")).
		Field(service.NewDurationField(fRebalanceTimeout).Default("60s").Advanced().
			Description("How long a rebalance waits for members to hand partitions over.")).
		LintRule(`root = [
  if this.consumer_group.or("") == "" { "field consumer_group: must not be empty: the committed offsets are where window state resumes" } else { null },
  if this.retry_topics.or([]).any(t -> this.topics.or([]).contains(t)) { "field retry_topics: a retry topic must not be one of the topics" } else { null },
].filter(e -> e != null)` + kafkaconn.SeedBrokersLintRule)
}

func init() {
	service.MustRegisterBatchInput("window_kafka", spec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
			return newInput(conf, mgr)
		})
}

type input struct {
	opts        []kgo.Opt
	connOpts    []kgo.Opt // the cluster's address and security, without the group
	group       string
	topics      []string
	retryTopics []string
	retrySet    map[string]struct{}
	stateTopic  string
	stateEvery  time.Duration
	stateCl     *kgo.Client // writes snapshots; nil: off
	stateParts  int32
	maxBatch    int
	flight      *flightLimit
	period      time.Duration
	log         *service.Logger
	m           inputMetrics
	// assignments tells the window buffer of the same stream which
	// partitions are ready to window; nil without Benthos resources.
	assignments *partition.Assignments

	cl      *kgo.Client
	mu      sync.Mutex
	parts   map[tp]*tracker
	pending []pendingBatch  // polled, not delivered yet
	delayed map[tp]*delayed // retry copies not due yet (retry_topics.go)
	// restoring holds the records of partitions whose snapshot is being
	// read (restore.go); restoreWait is the wait after a failed read.
	restoring   map[tp]*restoring
	halted      map[tp]struct{} // partitions the buffer failed: not fetched (restore.go)
	restoreWait func(failures int) time.Duration
	wakePoll    context.CancelFunc // ends ReadBatch's current poll early
	nextDue     time.Duration      // until the next delayed copy is due; 0: none
	waiting     atomic.Bool        // ReadBatch is blocked in a poll: nothing undelivered here
	healthy     atomic.Int64       // unix ns of the last sign of a reachable cluster
	closing     atomic.Bool

	commitMu    sync.Mutex // one commit at a time, so a later one is never overtaken
	stopCommits chan struct{}
	commitsDone chan struct{}
	closed      chan struct{} // closed by Close
	closeOnce   sync.Once
}

type tp struct {
	topic string
	part  int32
}

type pendingBatch struct {
	t    *tracker
	recs []*kgo.Record
}

type inputMetrics struct {
	records, commits, commitErrors   *service.MetricCounter
	restoreErrors                    *service.MetricCounter
	assigned, revoked, lost, dropped *service.MetricCounter
	lag                              *service.MetricGauge
}

func newInput(conf *service.ParsedConfig, mgr *service.Resources) (*input, error) {
	cc, err := kafkaconn.ParseConsumer(conf)
	if err != nil {
		return nil, err
	}
	topics, group := cc.Topics, cc.Group
	start, _ := conf.FieldString(fStartOffset)
	period, err := conf.FieldDuration(fCommitPeriod)
	if err != nil {
		return nil, err
	}
	if period <= 0 {
		return nil, errors.New("field commit_period: must be greater than zero")
	}
	fetchWait, err := conf.FieldDuration(fFetchMaxWait)
	if err != nil {
		return nil, err
	}
	maxBatch, err := conf.FieldInt(fMaxBatch)
	if err != nil {
		return nil, err
	}
	if maxBatch < 1 {
		return nil, errors.New("field max_batch_records: must be at least 1")
	}
	maxUnacked, err := conf.FieldInt(fMaxUnacked)
	if err != nil {
		return nil, err
	}
	if maxUnacked < 1 {
		return nil, errors.New("field max_unacked_records: must be at least 1")
	}
	sessionTimeout, err := conf.FieldDuration(fSessionTimeout)
	if err != nil {
		return nil, err
	}
	rebalanceTimeout, err := conf.FieldDuration(fRebalanceTimeout)
	if err != nil {
		return nil, err
	}
	retryTopics, err := conf.FieldStringList(fRetryTopics)
	if err != nil {
		return nil, err
	}
	retrySet := map[string]struct{}{}
	for _, t := range retryTopics {
		if slices.Contains(topics, t) {
			return nil, fmt.Errorf("field %s: %s is also in topics", fRetryTopics, t)
		}
		retrySet[t] = struct{}{}
	}
	stateTopic, err := conf.FieldString(fStateTopic)
	if err != nil {
		return nil, err
	}
	if stateTopic == "" {
		stateTopic = group + "-window-state"
	}
	if slices.Contains(topics, stateTopic) || slices.Contains(retryTopics, stateTopic) {
		return nil, fmt.Errorf("field %s: %s is also a topic this input consumes", fStateTopic, stateTopic)
	}
	stateEvery, err := conf.FieldDuration(fStateInterval)
	if err != nil {
		return nil, err
	}
	if stateEvery < 0 {
		return nil, fmt.Errorf("field %s: must not be negative", fStateInterval)
	}
	in := &input{group: group, topics: topics, retryTopics: retryTopics, retrySet: retrySet,
		stateTopic: stateTopic, stateEvery: stateEvery,
		maxBatch: maxBatch, flight: newFlightLimit(maxUnacked), period: period,
		parts: map[tp]*tracker{}, delayed: map[tp]*delayed{}, closed: make(chan struct{}),
		restoring: map[tp]*restoring{}, halted: map[tp]struct{}{}, restoreWait: restoreBackoff}
	if mgr != nil {
		in.assignments = partition.Shared(mgr.StreamID(), mgr.GetOrSetGeneric)
		in.log = mgr.Logger()
		mt := mgr.Metrics()
		in.m = inputMetrics{
			records:       mt.NewCounter("window_kafka_records"),
			commits:       mt.NewCounter("window_kafka_commits"),
			commitErrors:  mt.NewCounter("window_kafka_commit_errors"),
			restoreErrors: mt.NewCounter("window_kafka_snapshot_load_errors"),
			assigned:      mt.NewCounter("window_kafka_partitions_assigned"),
			revoked:       mt.NewCounter("window_kafka_partitions_revoked"),
			lost:          mt.NewCounter("window_kafka_partitions_lost"),
			dropped:       mt.NewCounter("window_kafka_records_dropped_revoked"),
			lag:           mt.NewGauge("window_kafka_lag", "topic", "partition"),
		}
	}
	reset := kgo.NewOffset().AtStart()
	if start == "latest" {
		reset = kgo.NewOffset().AtEnd()
	}
	in.connOpts = cc.ConnOpts()
	cc.Topics = append(slices.Clone(topics), retryTopics...)
	in.opts = append(cc.GroupOpts(),
		kgo.ConsumeResetOffset(reset),
		kgo.DisableAutoCommit(),
		// Records of aborted transactions (a window_repartition step that
		// crashed) are never windowed; open ones wait for their outcome.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// Transaction markers occupy offsets: seeing them tells a
		// partition whose last records were transactional that it is
		// caught up (they are never delivered).
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(fetchWait),
		// The client holds one fetch response per broker, decoded (a
		// record costs ~180 bytes besides its value), until every record of
		// it is polled; only then is the next fetch sent. 4 MiB a response,
		// 2 MiB a partition: a backlog of 80-byte events held 50 MB of
		// decoded records with 8 MiB a partition (no response limit), and
		// the pass-through ran as fast with these (bench D0, 2026-12-02).
		kgo.FetchMaxPartitionBytes(2<<20),
		kgo.FetchMaxBytes(4<<20),
		kgo.SessionTimeout(sessionTimeout),
		kgo.RebalanceTimeout(rebalanceTimeout),
		kgo.OnOffsetsFetched(in.onOffsetsFetched),
		kgo.OnPartitionsRevoked(in.onRevoked),
		kgo.OnPartitionsLost(in.onLost),
		// Records polled are filed under their partition's assignment
		// before a rebalance may end it (ReadBatch allows it again right
		// after): otherwise records polled just before a partition was
		// revoked and assigned again would be queued under the new
		// assignment, ahead of (and again with) those it fetches from the
		// committed offset.
		kgo.BlockRebalanceOnPoll(),
	)
	if len(retryTopics) > 0 {
		// Partition n of every topic to the same member: co-partitioned.
		in.opts = append(in.opts, kgo.Balancers(kgo.RangeBalancer()))
	}
	return in, nil
}

// Connect implements service.BatchInput.
func (in *input) Connect(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.cl != nil {
		// Reconnecting after checkBroker found the cluster unreachable.
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := in.cl.Ping(pctx); err != nil {
			return fmt.Errorf("window_kafka: no broker reachable: %w", err)
		}
		in.healthy.Store(time.Now().UnixNano())
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if len(in.retryTopics) > 0 {
		// Before joining the group: retry topics created after the join
		// would make the group rebalance at once.
		adm, err := kgo.NewClient(in.connOpts...)
		if err != nil {
			return fmt.Errorf("window_kafka: %w", err)
		}
		err = in.checkCopartitioned(pctx, adm)
		adm.Close()
		if errors.Is(err, errSourceMissing) {
			if in.log != nil {
				in.log.Warnf("window_kafka: %v yet; the retry topics are checked (and created) once it exists", err)
			}
			go in.checkCopartitionedLater(in.closed)
		} else if err != nil {
			return err
		}
	}
	if in.stateEvery > 0 && in.stateCl == nil {
		// Before joining the group: a partition assigned at once may
		// resume from a snapshot, and takes new ones.
		scl, err := kgo.NewClient(append(append([]kgo.Opt(nil), in.connOpts...),
			kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
		if err != nil {
			return fmt.Errorf("window_kafka: %w", err)
		}
		n, err := in.ensureStateTopic(pctx, scl)
		switch {
		case err != nil && errors.Is(err, context.DeadlineExceeded):
			scl.Close()
			return err // the cluster is not reachable yet: Connect is retried
		case err != nil:
			// Results stay exact without snapshots; only the replay after
			// a restart is longer (up to the oldest open window).
			scl.Close()
			if in.log != nil {
				in.log.Errorf("window_kafka: no snapshots of the window state (the replay after a restart reaches back to the oldest open window): %v", err)
			}
			in.stateEvery = 0
		default:
			in.stateCl, in.stateParts = scl, n
		}
	}
	cl, err := kgo.NewClient(in.opts...)
	if err != nil {
		return fmt.Errorf("window_kafka: %w", err)
	}
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return fmt.Errorf("window_kafka: no broker reachable: %w", err)
	}
	in.cl = cl
	partition.SourceStarted()
	in.stopCommits = make(chan struct{})
	in.commitsDone = make(chan struct{})
	go in.commitLoop()
	return nil
}

// onOffsetsFetched registers the partitions of a new assignment with the
// resume points their committed offsets carry, before any of their records
// are fetched.
func (in *input) onOffsetsFetched(_ context.Context, cl *kgo.Client, resp *kmsg.OffsetFetchResponse) error {
	type committed struct {
		topic     string
		partition int32
		offset    int64
		metadata  *string
	}
	var cs []committed
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			cs = append(cs, committed{t.Topic, p.Partition, p.Offset, p.Metadata})
		}
	}
	for _, g := range resp.Groups { // OffsetFetch v8+
		if g.Group != in.group {
			continue
		}
		for _, t := range g.Topics {
			for _, p := range t.Partitions {
				cs = append(cs, committed{t.Topic, p.Partition, p.Offset, p.Metadata})
			}
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	var fresh []*tracker
	defer func() {
		if len(fresh) > 0 {
			go in.listEnds(cl, fresh)
		}
	}()
	for _, c := range cs {
		key := tp{c.topic, c.partition}
		if _, ok := in.parts[key]; ok {
			continue // still ours (a cooperative rebalance keeps it)
		}
		r := partition.Fresh
		if c.offset >= 0 {
			meta := ""
			if c.metadata != nil {
				meta = *c.metadata
			}
			var err error
			if r, err = partition.DecodeResume(meta); err != nil && in.log != nil {
				in.log.Warnf("window_kafka: %s/%d resumes at committed offset %d without window state (%v): windows open at that offset may be emitted without their earlier events", c.topic, c.partition, c.offset, err)
			}
		}
		if in.log != nil {
			snap := "no snapshot"
			if r.Snap != nil {
				snap = "snapshot of offsets below " + strconv.FormatInt(r.Snap.At, 10)
			}
			in.log.Infof("window_kafka: %s/%d assigned, resuming at offset %d with watermark %s, windows written through %s, %s", c.topic, c.partition, c.offset, fmtNs(r.Watermark), fmtNs(r.Released), snap)
		}
		p := partition.NewPartition(c.topic, c.partition, r, c.offset, in.idle)
		p.Retry = in.isRetryTopic(c.topic)
		if !p.Retry {
			p.Snapshots = in.snapshotsFor(c.topic, c.partition)
		}
		t := newTracker(p)
		in.parts[key] = t
		fresh = append(fresh, t)
		if r.Snap != nil {
			in.startRestoreLocked(t)
		} else {
			in.readyLocked(t)
		}
		if in.m.assigned != nil {
			in.m.assigned.Incr(1)
		}
	}
	return nil
}

func fmtNs(ns int64) string {
	if ns == partition.NoWatermark {
		return "(none)"
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// onRevoked hands partitions back: no more deliveries, the delivered batches
// reach the buffer, the safe offsets are committed, the buffer drops the
// partitions' state. Only then does the rebalance go on.
func (in *input) onRevoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	in.handOver(ctx, cl, revoked, true)
}

// onLost: the group moved on without us (session expired); commits would be
// refused, so the state is dropped and the new owner replays.
func (in *input) onLost(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
	in.handOver(ctx, cl, lost, false)
}

func (in *input) handOver(ctx context.Context, cl *kgo.Client, parts map[string][]int32, commit bool) {
	var ts []*tracker
	in.mu.Lock()
	for topic, ps := range parts {
		for _, p := range ps {
			if t, ok := in.parts[tp{topic, p}]; ok {
				if in.assignments != nil {
					in.assignments.Gone(t.part)
				}
				ts = append(ts, t)
				delete(in.parts, tp{topic, p})
				in.forgetDelayedLocked(tp{topic, p})
				in.forgetRestoringLocked(tp{topic, p})
				in.forgetHaltedLocked(tp{topic, p})
			}
		}
	}
	in.mu.Unlock()
	if len(ts) == 0 {
		return
	}
	// Batches already in the pipeline reach the buffer first, so nothing of
	// the partition arrives after its state is gone. On shutdown the
	// pipeline may already be stopped: then do not wait for it.
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, t := range ts {
		ch := t.part.MarkRevoked()
		if in.closing.Load() {
			continue
		}
		select {
		case <-ch:
		case <-wait.Done():
			if in.log != nil {
				in.log.Warnf("window_kafka: %s/%d revoked while batches were still in the pipeline; their windows are dropped and replayed by the new owner", t.part.Topic, t.part.ID)
			}
		}
	}
	if commit {
		in.commit(ctx, cl, ts)
	}
	for _, t := range ts {
		if s := t.part.Sink(); s != nil {
			s.Drop()
		}
		if in.m.revoked != nil {
			if commit {
				in.m.revoked.Incr(1)
			} else {
				in.m.lost.Incr(1)
			}
		}
	}
}

func (in *input) commitLoop() {
	defer close(in.commitsDone)
	tick := time.NewTicker(in.period)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			in.commitAll(context.Background())
		case <-in.stopCommits:
			return
		}
	}
}

func (in *input) commitAll(ctx context.Context) {
	in.mu.Lock()
	cl := in.cl
	ts := make([]*tracker, 0, len(in.parts))
	for _, t := range in.parts {
		ts = append(ts, t)
		if in.assignments != nil {
			in.assignments.Gone(t.part)
		}
	}
	in.mu.Unlock()
	if cl != nil {
		in.commitMu.Lock()
		defer in.commitMu.Unlock()
		// A partition handed back since it was listed is committed by its
		// hand-over: a periodic commit computed after that (its state
		// dropped) must not land after, or in place of, that one.
		live := ts[:0]
		for _, t := range ts {
			if !t.part.Revoked() {
				live = append(live, t)
			}
		}
		in.commitLocked(ctx, cl, live)
	}
}

// commit commits ts's safe offsets, one commit at a time.
func (in *input) commit(ctx context.Context, cl *kgo.Client, ts []*tracker) {
	in.commitMu.Lock()
	defer in.commitMu.Unlock()
	in.commitLocked(ctx, cl, ts)
}

// commitLocked commits the safe offset of each tracker whose point moved,
// with its resume point as the offset's metadata. Callers hold commitMu.
func (in *input) commitLocked(ctx context.Context, cl *kgo.Client, ts []*tracker) {
	type point struct {
		t      *tracker
		offset int64
		meta   string
	}
	var points []point
	offsets := map[string]map[int32]kgo.EpochOffset{}
	metas := map[tp]string{}
	for _, t := range ts {
		off, meta, changed := t.commitPoint()
		if in.m.lag != nil {
			if lag := t.part.Lag(); lag >= 0 {
				in.m.lag.Set(lag, t.part.Topic, strconv.Itoa(int(t.part.ID)))
			}
		}
		if !changed {
			continue
		}
		points = append(points, point{t, off, meta})
		if offsets[t.part.Topic] == nil {
			offsets[t.part.Topic] = map[int32]kgo.EpochOffset{}
		}
		offsets[t.part.Topic][t.part.ID] = kgo.EpochOffset{Epoch: -1, Offset: off}
		metas[tp{t.part.Topic, t.part.ID}] = meta
	}
	if len(points) == 0 {
		return
	}
	cctx := kgo.PreCommitFnContext(ctx, func(req *kmsg.OffsetCommitRequest) error {
		for i := range req.Topics {
			for j := range req.Topics[i].Partitions {
				p := &req.Topics[i].Partitions[j]
				if m, ok := metas[tp{req.Topics[i].Topic, p.Partition}]; ok {
					p.Metadata = &m
				}
			}
		}
		return nil
	})
	var commitErr error
	done := make(chan struct{})
	cl.CommitOffsetsSync(cctx, offsets, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, err error) {
		defer close(done)
		if err != nil {
			commitErr = err
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if e := kerr.ErrorForCode(p.ErrorCode); e != nil && commitErr == nil {
					commitErr = fmt.Errorf("%s/%d: %w", t.Topic, p.Partition, e)
				}
			}
		}
	})
	<-done
	if commitErr != nil {
		if in.m.commitErrors != nil {
			in.m.commitErrors.Incr(1)
		}
		if in.log != nil {
			in.log.Warnf("window_kafka: commit of group %s failed (it is retried; until then a restart replays more): %v", in.group, commitErr)
		}
		return
	}
	for _, p := range points {
		p.t.committedAt(p.offset, p.meta)
	}
	if in.m.commits != nil {
		in.m.commits.Incr(1)
	}
}

// ReadBatch implements service.BatchInput: one batch is consecutive records
// of one partition.
func (in *input) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for {
		if recs, b, ok := in.nextDelivery(); ok {
			n := len(recs)
			if err := in.flight.acquire(ctx, n); err != nil {
				// Stopping: the batch never reaches the pipeline, so it is
				// settled as failed (not committed; consumed again).
				b.Received()
				b.Done(err)
				return nil, nil, err
			}
			batch := toMessages(recs, b)
			if b.Part.Retry {
				asRetried(batch)
			}
			if in.m.records != nil {
				in.m.records.Incr(int64(n))
			}
			var once sync.Once
			return batch, func(_ context.Context, err error) error {
				once.Do(func() { in.flight.release(n) })
				pipelineAck(b, err)
				return nil
			}, nil
		}
		in.mu.Lock()
		cl := in.cl
		in.mu.Unlock()
		if cl == nil {
			return nil, nil, service.ErrNotConnected
		}
		in.waiting.Store(true)
		in.mu.Lock()
		if len(in.pending) > 0 {
			// Queued since nextDelivery looked (a restore finished).
			in.mu.Unlock()
			in.waiting.Store(false)
			continue
		}
		wait := healthEvery
		if in.nextDue > 0 {
			wait = min(wait, in.nextDue)
		}
		pollCtx, cancel := context.WithTimeout(ctx, wait)
		in.wakePoll = cancel
		in.mu.Unlock()
		// One batch's worth: what is not taken stays in the client's buffered
		// fetch, which it already holds, instead of also being queued here.
		fetches := cl.PollRecords(pollCtx, in.maxBatch)
		in.mu.Lock()
		in.wakePoll = nil
		in.mu.Unlock()
		cancel()
		in.waiting.Store(false)
		if fetches.IsClientClosed() {
			return nil, nil, service.ErrEndOfInput
		}
		in.queue(fetches)
		cl.AllowRebalance()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		fetches.EachError(func(t string, p int32, err error) {
			if in.log != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				in.log.Warnf("window_kafka: fetch %s/%d: %v", t, p, err)
			}
		})
		if fetches.NumRecords() == 0 {
			if err := in.checkBroker(ctx, cl); err != nil {
				return nil, nil, err
			}
		} else {
			in.healthy.Store(time.Now().UnixNano())
		}
	}
}

// idle reports whether the input is waiting for records of a reachable
// cluster: a partition can only be caught up then (a cluster that does not
// answer may hold records we have not seen).
func (in *input) idle() bool {
	return in.waiting.Load() && time.Since(time.Unix(0, in.healthy.Load())) < 3*healthEvery
}

// healthEvery is how long a poll waits before the broker is checked: the
// client reconnects by itself, but /ready must say not-ready meanwhile.
const healthEvery = time.Second

// checkBroker pings the cluster when nothing arrived for a while; an
// unreachable cluster makes the input not connected (Benthos' /ready turns
// 503 and Connect is retried until the broker answers again).
func (in *input) checkBroker(ctx context.Context, cl *kgo.Client) error {
	if time.Since(time.Unix(0, in.healthy.Load())) < healthEvery {
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := cl.Ping(pctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if in.log != nil {
			in.log.Warnf("window_kafka: no broker reachable (%v); waiting for the cluster", err)
		}
		return service.ErrNotConnected
	}
	in.healthy.Store(time.Now().UnixNano())
	return nil
}

// nextDelivery takes the next polled batch of a partition that is still ours.
func (in *input) nextDelivery() ([]*kgo.Record, *partition.Batch, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.nextDue = 0
	if len(in.delayed) > 0 {
		in.nextDue = in.dueLocked(time.Now())
	}
	for len(in.pending) > 0 {
		pb := in.pending[0]
		in.pending[0] = pendingBatch{}
		in.pending = in.pending[1:]
		b := pb.t.deliver(pb.recs[0].Offset, pb.recs[len(pb.recs)-1].Offset)
		if b == nil {
			if in.m.dropped != nil {
				in.m.dropped.Incr(int64(len(pb.recs)))
			}
			continue // revoked since it was fetched
		}
		return pb.recs, b, true
	}
	return nil, nil, false
}

func (in *input) queue(fetches kgo.Fetches) {
	in.mu.Lock()
	defer in.mu.Unlock()
	fetches.EachPartition(func(fp kgo.FetchTopicPartition) {
		t, ok := in.parts[tp{fp.Topic, fp.Partition}]
		if !ok {
			if in.m.dropped != nil && len(fp.Records) > 0 {
				in.m.dropped.Incr(int64(len(fp.Records)))
			}
			return
		}
		t.part.Fetched(fp.HighWatermark)
		recs := withoutControl(fp.Records, t.part)
		if t.part.Retry {
			in.delayLocked(t, recs)
			return
		}
		if in.holdLocked(tp{fp.Topic, fp.Partition}, recs) {
			return
		}
		if in.haltLocked(t) {
			return
		}
		in.pendLocked(t, recs)
	})
}

// pendLocked queues recs of t for delivery, a batch at most maxBatch records.
func (in *input) pendLocked(t *tracker, recs []*kgo.Record) {
	for len(recs) > 0 {
		n := min(len(recs), in.maxBatch)
		in.pending = append(in.pending, pendingBatch{t: t, recs: recs[:n:n]})
		recs = recs[n:]
	}
}

// withoutControl drops transaction markers from recs (in place, only when
// there are any) and tells p how far the partition was read.
func withoutControl(recs []*kgo.Record, p *partition.Partition) []*kgo.Record {
	i := slices.IndexFunc(recs, func(r *kgo.Record) bool { return r.Attrs.IsControl() })
	if i < 0 {
		return recs
	}
	p.ReadTo(recs[len(recs)-1].Offset + 1)
	kept := recs[:i]
	for _, r := range recs[i:] {
		if !r.Attrs.IsControl() {
			kept = append(kept, r)
		}
	}
	return kept
}

// Close implements service.BatchInput: the last safe offsets are committed,
// then the group is left.
func (in *input) Close(ctx context.Context) error {
	in.closing.Store(true)
	in.closeOnce.Do(func() { close(in.closed) })
	in.mu.Lock()
	cl := in.cl
	ts := make([]*tracker, 0, len(in.parts))
	for _, t := range in.parts {
		ts = append(ts, t)
		if in.assignments != nil {
			in.assignments.Gone(t.part)
		}
	}
	for _, r := range in.restoring {
		r.cancel() // a load in progress ends now, not at its own timeout
	}
	in.mu.Unlock()
	if cl == nil {
		return nil
	}
	close(in.stopCommits)
	<-in.commitsDone
	// The buffer settles the batches it still holds only after the input
	// is closed (end of input aborts open windows), so there is nothing to
	// wait for: what is acknowledged now is committed, the rest replayed.
	in.commit(ctx, cl, ts)
	// A ReadBatch cut short between its poll and AllowRebalance must not
	// keep the final revoke (leaving the group) waiting.
	cl.CloseAllowingRebalance()
	if in.stateCl != nil {
		// Tombstones of snapshots the last commits superseded.
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = in.stateCl.Flush(fctx)
		cancel()
		in.stateCl.Close()
		in.stateCl = nil
	}
	partition.SourceStopped()
	in.mu.Lock()
	in.cl = nil
	in.mu.Unlock()
	return nil
}
