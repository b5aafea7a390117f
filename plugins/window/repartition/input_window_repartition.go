// Package repartition is the window_repartition input: the re-key step a
// windowed job needs when it windows by something other than the Kafka key.
// It copies records from source topics into a repartition topic keyed by
// the window key, in Kafka transactions that also commit the source
// offsets, so every record is written to the repartition topic exactly
// once whatever happens to the job (Kafka Streams' repartition topics, with
// exactly-once processing).
package repartition

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkaconn"
	"github.com/streamkit/pipeline/internal/meta"
)

const (
	fSeedBrokers     = kafkaconn.FieldSeedBrokers
	fTopics          = kafkaconn.FieldTopics
	fConsumerGroup   = kafkaconn.FieldConsumerGroup
	fTopic           = "topic"
	fKey             = "key"
	fPartitions      = "partitions"
	fClientID        = kafkaconn.FieldClientID
	fInstanceID      = kafkaconn.FieldInstanceID
	fTxnID           = "transactional_id"
	fTxnTimeout      = "transaction_timeout"
	fMaxRecords      = "max_records"
	fSessionTimeout  = "session_timeout"
	fFetchPartBytes  = "fetch_max_partition_bytes"
	keyErrorLogEvery = time.Minute
)

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Services").
		Summary("Re-keys Kafka records into a repartition topic, exactly once (Kafka transactions), so a `window_kafka` job can window by a field that is not the Kafka key.").
		Description(`
The ` + "`window`" + ` buffer keeps state per source partition: the window key must be the Kafka key (or a
function of it). To window by another field (page views per page over events keyed by user), put this
input in front: it consumes ` + "`topics`" + ` in ` + "`consumer_group`" + `, writes every record to ` + "`topic`" + `
with the key ` + "`key`" + ` computes (value, headers and timestamp unchanged), and commits the source
offsets in the same Kafka transaction as the writes. A crash, a restart or a rebalance aborts the open
transaction; the records are consumed again and written again in a new one, and readers that read
committed records only (` + "`window_kafka`" + ` does) see each record exactly once.

The input emits no messages itself: put it in a ` + "`broker`" + ` input next to the ` + "`window_kafka`" + ` input that
reads ` + "`topic`" + `, or run it as a job of its own with a ` + "`drop`" + ` output.

Records are written in the order of their timestamps within each poll, but records of different source
partitions are interleaved as they are fetched: while the step catches up on a backlog, one source
partition may run ahead of another, so the window stage's ` + "`allowed_lateness`" + ` must cover that skew
(or the events of the slower partition are late there).

A record whose key cannot be computed is written with its original key (counted in
` + "`window_repartition_key_errors`" + ` and logged): the window stage then fails it the same way
(a missing key field is an error routed to the dead-letter route), so nothing is lost here.

Set ` + "`instance_id`" + ` (unique per instance, e.g. the pod name): it is also the transactional id, so a
restarted instance fences its previous life and aborts its open transaction at once. Without it each
start uses a new transactional id, and an open transaction of a crashed instance holds back readers
until ` + "`transaction_timeout`" + ` expires.`).
		Field(service.NewStringListField(fSeedBrokers).
			Description("Brokers to bootstrap from; entries may hold several comma-separated addresses.").
			Example([]string{"localhost:9092"})).
		Fields(kafkaconn.AuthFields()...).
		Field(service.NewStringListField(fTopics).Description("Topics to re-key.")).
		Field(service.NewStringField(fConsumerGroup).Description("Consumer group of the re-key step; its offsets are committed in the transactions.")).
		Field(service.NewStringField(fTopic).Description("The repartition topic the records are written to.")).
		Field(service.NewInterpolatedStringField(fKey).
			Description("The new key, computed from each record (its value, and metadata `kafka_key`, `kafka_topic`, `kafka_partition`, `kafka_offset`, `kafka_timestamp_ms`).").
			Example(`${! json("metadata.page").not_null() }`)).
		Field(service.NewIntField(fPartitions).Default(0).
			Description("Partitions of the repartition topic when this input creates it (it does when the topic is missing); 0: as many as the first source topic.")).
		Field(service.NewStringField(fClientID).Default("pipeline").Advanced().Description("Client id sent to the brokers.")).
		Field(service.NewStringField(fInstanceID).Default("").
			Description("Static group membership and the transactional id's suffix, unique per instance (e.g. the pod name).")).
		Field(service.NewStringField(fTxnID).Default("").Advanced().
			Description("Transactional id; default `<consumer_group>-<instance_id>`, or a random suffix without `instance_id`.")).
		Field(service.NewDurationField(fTxnTimeout).Default("10s").Advanced().
			Description("How long the brokers keep a transaction of an instance that stopped open before they abort it.")).
		Field(service.NewIntField(fMaxRecords).Default(10000).Advanced().
			Description("Most records in one transaction.")).
		Field(service.NewIntField(fFetchPartBytes).Default(256 << 10).Advanced().
			Description("Most bytes fetched from one partition at once: smaller fetches keep source partitions closer in time while a backlog is copied.")).
		Field(service.NewDurationField(fSessionTimeout).Default("45s").Advanced().
			Description("How long the group waits for a member that stopped heartbeating.")).
		LintRule(`root = [
  if this.consumer_group.or("") == "" { "field consumer_group: must not be empty" } else { null },
  if this.topic.or("") == "" { "field topic: must not be empty" } else { null },
  if this.topics.or([]).contains(this.topic.or("")) { "field topic: the repartition topic must not be one of the source topics" } else { null },
  if this.partitions.or(0) < 0 { "field partitions: must not be negative" } else { null },
  if this.max_records.or(1) < 1 { "field max_records: must be at least 1" } else { null },
].filter(e -> e != null)` + kafkaconn.SeedBrokersLintRule)
}

func init() {
	service.MustRegisterBatchInput("window_repartition", spec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
			return newInput(conf, mgr)
		})
}

type inputMetrics struct {
	records, transactions, aborts, keyErrors *service.MetricCounter
}

type input struct {
	topics     []string
	dest       string
	partitions int32
	key        *service.InterpolatedString
	maxRecords int
	opts       []kgo.Opt
	log        *service.Logger
	m          inputMetrics

	mu      sync.Mutex
	sess    *kgo.GroupTransactSession
	cancel  context.CancelFunc
	done    chan struct{}
	failed  chan struct{} // closed when the copy loop stops on an error
	lastErr error

	keyErrMu     sync.Mutex
	keyErrLogged time.Time
}

func newInput(conf *service.ParsedConfig, mgr *service.Resources) (*input, error) {
	cc, err := kafkaconn.ParseConsumer(conf)
	if err != nil {
		return nil, err
	}
	topics, group, instanceID := cc.Topics, cc.Group, cc.InstanceID
	dest, err := conf.FieldString(fTopic)
	if err != nil {
		return nil, err
	}
	if dest == "" {
		return nil, errors.New("field topic: must not be empty")
	}
	if slices.Contains(topics, dest) {
		return nil, fmt.Errorf("field topic: the repartition topic %q must not be one of the source topics", dest)
	}
	key, err := conf.FieldInterpolatedString(fKey)
	if err != nil {
		return nil, err
	}
	partitions, err := conf.FieldInt(fPartitions)
	if err != nil {
		return nil, err
	}
	if partitions < 0 {
		return nil, errors.New("field partitions: must not be negative")
	}
	maxRecords, err := conf.FieldInt(fMaxRecords)
	if err != nil {
		return nil, err
	}
	if maxRecords < 1 {
		return nil, errors.New("field max_records: must be at least 1")
	}
	txnID, _ := conf.FieldString(fTxnID)
	if txnID == "" {
		txnID = group + "-" + instanceID
		if instanceID == "" {
			txnID = group + "-" + randomSuffix()
		}
	}
	txnTimeout, err := conf.FieldDuration(fTxnTimeout)
	if err != nil {
		return nil, err
	}
	sessionTimeout, err := conf.FieldDuration(fSessionTimeout)
	if err != nil {
		return nil, err
	}
	fetchPartBytes, err := conf.FieldInt(fFetchPartBytes)
	if err != nil {
		return nil, err
	}
	in := &input{topics: topics, dest: dest, partitions: int32(partitions), key: key, maxRecords: maxRecords}
	in.opts = append(cc.GroupOpts(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.TransactionalID(txnID),
		kgo.TransactionTimeout(txnTimeout),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.RequireStableFetchOffsets(),
		kgo.FetchMaxPartitionBytes(int32(fetchPartBytes)),
		kgo.SessionTimeout(sessionTimeout),
		// Records keep the partition the key hashes to, as any Kafka
		// producer keyed the same way would.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
	)
	if mgr != nil {
		in.log = mgr.Logger()
		mt := mgr.Metrics()
		in.m = inputMetrics{
			records:      mt.NewCounter("window_repartition_records"),
			transactions: mt.NewCounter("window_repartition_transactions"),
			aborts:       mt.NewCounter("window_repartition_aborts"),
			keyErrors:    mt.NewCounter("window_repartition_key_errors"),
		}
	}
	return in, nil
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Connect creates the repartition topic if it is missing and starts the
// copy loop.
func (in *input) Connect(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sess != nil {
		return nil
	}
	sess, err := kgo.NewGroupTransactSession(in.opts...)
	if err != nil {
		return fmt.Errorf("window_repartition: %w", err)
	}
	if err := in.ensureTopic(ctx, sess.Client()); err != nil {
		sess.Close()
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	in.sess, in.cancel = sess, cancel
	in.done, in.failed = make(chan struct{}), make(chan struct{})
	go in.loop(loopCtx, sess, in.done, in.failed)
	return nil
}

// ensureTopic creates the repartition topic with the configured partition
// count (default: the first source topic's) unless it exists.
func (in *input) ensureTopic(ctx context.Context, cl *kgo.Client) error {
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, in.dest, in.topics[0])
	if err != nil {
		return fmt.Errorf("window_repartition: listing topics %s, %s: %w", in.dest, in.topics[0], err)
	}
	if d, ok := td[in.dest]; ok && d.Err == nil {
		return nil
	}
	n := in.partitions
	if n == 0 {
		src, ok := td[in.topics[0]]
		if !ok || src.Err != nil || len(src.Partitions) == 0 {
			return fmt.Errorf("window_repartition: source topic %s not found; set field partitions to create %s", in.topics[0], in.dest)
		}
		n = int32(len(src.Partitions))
	}
	resp, err := adm.CreateTopic(ctx, n, -1, nil, in.dest)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("window_repartition: creating topic %s: %w", in.dest, err)
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("window_repartition: creating topic %s: %w", in.dest, resp.Err)
	}
	return nil
}

// loop copies polled records in one transaction per poll until ctx ends.
func (in *input) loop(ctx context.Context, sess *kgo.GroupTransactSession, done, failed chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		fetches := sess.PollRecords(ctx, in.maxRecords)
		if ctx.Err() != nil || fetches.IsClientClosed() {
			return
		}
		fetches.EachError(func(t string, p int32, err error) {
			if in.log != nil && !errors.Is(err, context.Canceled) {
				in.log.Warnf("window_repartition: fetching %s/%d: %v", t, p, err)
			}
		})
		recs := fetches.Records()
		if len(recs) == 0 {
			continue
		}
		if err := in.copyOnce(ctx, sess, recs); err != nil {
			if ctx.Err() != nil {
				return
			}
			in.mu.Lock()
			in.lastErr = err
			in.mu.Unlock()
			if in.log != nil {
				in.log.Errorf("window_repartition: %v; reconnecting", err)
			}
			close(failed)
			return
		}
	}
}

// copyOnce writes recs re-keyed to the repartition topic and commits their
// offsets in one transaction. An abort (a rebalance meanwhile) is not an
// error: the session rewinds to the committed offsets and the records come
// again.
func (in *input) copyOnce(ctx context.Context, sess *kgo.GroupTransactSession, recs []*kgo.Record) error {
	// Within a poll the records of different partitions are written in
	// timestamp order, so the window stage sees them as little out of
	// order as the fetch allows.
	slices.SortStableFunc(recs, func(a, b *kgo.Record) int { return a.Timestamp.Compare(b.Timestamp) })
	if err := sess.Begin(); err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	out := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		out[i] = &kgo.Record{Topic: in.dest, Key: in.rekey(r), Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp}
	}
	var produceErr error
	for _, res := range sess.ProduceSync(ctx, out...) {
		if res.Err != nil {
			produceErr = res.Err
			break
		}
	}
	try := kgo.TryCommit
	if produceErr != nil {
		try = kgo.TryAbort
	}
	committed, err := sess.End(ctx, try)
	if err != nil {
		return fmt.Errorf("ending a transaction of %d records: %w", len(recs), err)
	}
	if !committed {
		if in.m.aborts != nil {
			in.m.aborts.Incr(1)
		}
		if produceErr != nil && in.log != nil {
			in.log.Warnf("window_repartition: writing to %s failed (%v): transaction aborted, the records are copied again", in.dest, produceErr)
		}
		return nil
	}
	if in.m.transactions != nil {
		in.m.transactions.Incr(1)
		in.m.records.Incr(int64(len(recs)))
	}
	return nil
}

// rekey computes a record's new key; on failure the record keeps its key.
func (in *input) rekey(r *kgo.Record) []byte {
	msg := service.NewMessage(r.Value)
	msg.MetaSetMut(meta.KafkaKey, string(r.Key))
	msg.MetaSetMut(meta.KafkaTopic, r.Topic)
	msg.MetaSetMut(meta.KafkaPartition, int(r.Partition))
	msg.MetaSetMut(meta.KafkaOffset, int(r.Offset))
	msg.MetaSetMut(meta.KafkaTimestampMs, r.Timestamp.UnixMilli())
	k, err := in.key.TryBytes(msg)
	if err == nil {
		return k
	}
	if in.m.keyErrors != nil {
		in.m.keyErrors.Incr(1)
	}
	in.keyErrMu.Lock()
	logNow := time.Since(in.keyErrLogged) >= keyErrorLogEvery
	if logNow {
		in.keyErrLogged = time.Now()
	}
	in.keyErrMu.Unlock()
	if logNow && in.log != nil {
		in.log.Warnf("window_repartition: key of %s/%d@%d: %v; written with its original key (further key errors only counted for a minute)", r.Topic, r.Partition, r.Offset, err)
	}
	return r.Key
}

// ReadBatch emits nothing: the input's work is the copy loop. It reports a
// stopped loop so the stream reconnects.
func (in *input) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	in.mu.Lock()
	failed := in.failed
	in.mu.Unlock()
	if failed == nil {
		return nil, nil, service.ErrNotConnected
	}
	select {
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	case <-failed:
		in.mu.Lock()
		in.stopLocked()
		in.mu.Unlock()
		return nil, nil, service.ErrNotConnected
	}
}

// Close stops the copy loop; an open transaction is aborted by the broker
// (or at once by the next start with the same transactional id).
func (in *input) Close(ctx context.Context) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.stopLocked()
	return nil
}

func (in *input) stopLocked() {
	if in.sess == nil {
		return
	}
	in.cancel()
	<-in.done
	in.sess.Close()
	in.sess, in.failed = nil, nil
}
