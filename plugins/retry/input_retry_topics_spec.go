package retry

import (
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/kafkaconn"
)

// Field names of the retry_topics input.
const (
	inFieldSeedBrokers   = kafkaconn.FieldSeedBrokers
	inFieldTopics        = kafkaconn.FieldTopics
	inFieldConsumerGroup = kafkaconn.FieldConsumerGroup
	inFieldClientID      = kafkaconn.FieldClientID
	inFieldInstanceID    = kafkaconn.FieldInstanceID
	inFieldCommitPeriod  = "commit_period"
	inFieldFetchMaxWait  = "fetch_max_wait"
	inFieldMaxBuffered   = "max_buffered"
	inFieldStartOldest   = "start_from_oldest"
	inFieldRestoreOrigin = "restore_origin"
)

func retryTopicsSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Stable().
		Categories("Services").
		Summary("Consumes retry stage topics in a consumer group and releases each record only once its `retry_due_ms` header is due.").
		Description(`
This input is the consuming half of non-blocking Kafka retries; the `+"`retry_router`"+` output is the producing half. It owns a franz-go client in a consumer group over the stage topics.

### Release on time

Every record is released no earlier than its `+"`retry_due_ms`"+` header (unix milliseconds; records without it are due at once). While the head record of a partition is not due, that partition is paused with franz-go and a timer is armed for the head's due time; nothing sleeps, so other partitions and topics keep flowing. Records fetched behind the head are buffered in order and released after it, so nothing is skipped; the partition resumes fetching once its buffer is drained. Pauses are removed when partitions are revoked or lost, since franz-go keeps them across rebalances.

### Delivery guarantees

Offsets are committed only for records acknowledged downstream: acknowledgements are tracked per partition and the commit point is the end of the longest acknowledged prefix (marks are committed every `+"`commit_period`"+`, on revoke and on close). A nacked record is redelivered (with back off) without moving the commit point, so a restart re-reads every record that was not acknowledged (at-least-once).

### Metadata

Each record header becomes a metadata field (so the retry state `+"`retry_attempt`"+`, `+"`retry_due_ms`"+`, `+"`retry_first_failure_ms`"+`, `+"`retry_last_failure_ms`"+`, `+"`retry_original_topic`"+`, `+"`retry_original_partition`"+`, `+"`retry_original_offset`"+`, `+"`retry_original_timestamp_ms`"+`, `+"`retry_last_error`"+` is visible to processors and to the router), except the routing fields `+"`retry_topic`"+` and `+"`retry_key`"+`. It also sets:

- `+"`kafka_key`"+`, `+"`kafka_topic`"+`, `+"`kafka_partition`"+`, `+"`kafka_offset`"+`, `+"`kafka_timestamp_ms`"+`, `+"`kafka_timestamp_unix`"+` (as the `+"`redpanda`"+` input does); with `+"`restore_origin: true`"+` a record with retry state has `+"`kafka_topic`"+` and `+"`kafka_partition`"+` of the record it retries (`+"`retry_original_topic`"+`, `+"`retry_original_partition`"+`) and no `+"`kafka_offset`"+`
- `+"`retry_released_ms`"+`: when the record was handed to the pipeline.

Records released at the same moment (up to 256) are handed on as one batch, so a burst of due records is processed and written in batches.

### Metrics

- `+"`retry_released`"+` (counter, label `+"`topic`"+`): records released.
- `+"`retry_release_lateness`"+` (timer in ns, label `+"`topic`"+`): release time minus due time; never negative.
`).
		Field(service.NewStringListField(inFieldSeedBrokers).
			Description("Kafka bootstrap addresses; an entry may hold a comma-separated list. Written once per config: `seed_brokers: *brokers` refers to the list where the config first names it (`seed_brokers: &brokers [ ... ]`), as `tls: *tls` and `sasl: *sasl` do.").
			Example([]string{"localhost:9092"})).
		Fields(kafkaconn.AuthFields()...).
		Field(service.NewStringListField(inFieldTopics).
			Description("Retry stage topics to consume, e.g. the topics the `retry_router` ladder writes to.").
			Example([]string{"orders-retry-1", "orders-retry-2", "orders-retry-3"})).
		Field(service.NewStringField(inFieldConsumerGroup).
			Description("Consumer group; offsets are committed to it.")).
		Field(service.NewStringField(inFieldClientID).
			Description("Kafka client id.").
			Default("benthos-retry-topics")).
		Field(service.NewStringField(inFieldInstanceID).
			Description("Static group membership (KIP-345): a member restarted with the same id within the session timeout takes its partitions back without a rebalance, so records waiting in a stage are not held up by a crashed member's session. Empty means dynamic membership.").
			Default("").Advanced()).
		Field(service.NewDurationField(inFieldCommitPeriod).
			Description("How often acknowledged offsets are committed.").
			Default("1s").Advanced()).
		Field(service.NewDurationField(inFieldFetchMaxWait).
			Description("How long a fetch waits at the broker for new records. A partition resumed while a fetch is waiting joins only the next fetch, so this bounds how late a record written to a just-resumed partition can be fetched (and hence released); shorter means more idle fetch requests.").
			Default("250ms").Advanced()).
		Field(service.NewIntField(inFieldMaxBuffered).
			Description("Released records not yet taken by the pipeline beyond which fetching waits (bounds memory when the pipeline is slower than the due rate).").
			Default(1024).Advanced()).
		Field(service.NewBoolField(inFieldStartOldest).
			Description("Where a group without committed offsets starts: the oldest record (true) or new records only.").
			Default(true).Advanced()).
		Field(service.NewBoolField(inFieldRestoreOrigin).
			Description("A retried event belongs to the stream it first came from: `kafka_topic` and `kafka_partition` name the original record's topic and partition, and `kafka_offset` is left out (the stage topic's offset would be taken for an offset of the original partition, e.g. by the window buffer's log). The retry state keeps the original offset. Off by default: the stage record's topic, partition and offset, as the `redpanda` input reports a record.").
			Default(false)).
		LintRule(`root = [
  if this.topics.or([]).length() == 0 { "topics: at least one retry topic is required" } else { null },
  if this.consumer_group.or("") == "" { "consumer_group: required, offsets are committed to it" } else { null },
].filter(e -> e != null)`+kafkaconn.SeedBrokersLintRule).
		Example("Consume a three-stage ladder",
			"Releases records from the stage topics written by a `retry_router` whose ladder has three stages.",
			`
input:
  retry_topics:
    seed_brokers: [ localhost:9092 ]
    topics: [ orders-retry-1, orders-retry-2, orders-retry-3 ]
    consumer_group: orders-enricher
`)
}

func init() {
	err := service.RegisterBatchInput("retry_topics", retryTopicsSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
			in, err := newRetryTopicsInput(conf, mgr, realClock{})
			if err != nil {
				return nil, err
			}
			// Always replay nacks: dropping a nacked retry record would
			// lose it, which is what this input exists to prevent.
			return service.AutoRetryNacksBatched(in), nil
		})
	if err != nil {
		panic(err)
	}
}
