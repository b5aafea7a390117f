package dlq

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	dlFieldOutput        = "output"
	dlFieldDialect       = "header_dialect"
	dlFieldMaxBytes      = "max_message_bytes"
	dlFieldGroup         = "consumer_group"
	dlFieldPipeline      = "pipeline"
	dlFieldExclude       = "exclude_metadata"
	dlFieldMaxInFlight   = "max_in_flight"
	defaultMaxMessageLen = 1000000 // Kafka's default max.message.bytes (1000012) minus batch overhead
)

func deadLetterSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		Summary("Writes failed messages to a child output (the dead-letter topic) with their original bytes, key, headers and timestamp plus an envelope of error headers.").
		Description(`
Each message is written as the record that failed: the payload that reached this output, the original key (`+"`kafka_key`"+`), the original headers (exactly as read when the input is `+"`redpanda`"+`, otherwise the metadata minus `+"`exclude_metadata`"+`) and the original timestamp. An envelope is added as headers, named per `+"`header_dialect`"+`:

| field | native | kafka_connect | spring |
|---|---|---|---|
| error message | dlq_error | __connect.errors.exception.message | kafka_dlt-exception-message |
| error class | dlq_error_class | __connect.errors.exception.class.name (+ stage = CLASS) | kafka_dlt-exception-fqcn |
| failing component | dlq_error_component | __connect.errors.class.name | dlq_error_component |
| original topic | dlq_original_topic | __connect.errors.topic | kafka_dlt-original-topic |
| original partition | dlq_original_partition | __connect.errors.partition | kafka_dlt-original-partition (int32 BE) |
| original offset | dlq_original_offset | __connect.errors.offset | kafka_dlt-original-offset (int64 BE) |
| original timestamp | dlq_original_timestamp_ms | dlq_original_timestamp_ms | kafka_dlt-original-timestamp (int64 BE) + -timestamp-type |
| consumer group | dlq_consumer_group | __connect.errors.connector.name (+ task.id 0) and dlq_consumer_group | kafka_dlt-original-consumer-group |
| attempts | dlq_attempts | dlq_attempts | retry_topic-attempts (int32 BE) |
| first / last failure | dlq_first_failure_ms / dlq_last_failure_ms | same | same |
| pipeline | dlq_pipeline | dlq_pipeline | dlq_pipeline |
| validation errors | dlq_validation_errors | – | – |
| payload cut to fit | dlq_original_size | dlq_original_size | dlq_original_size |

Numbers are decimal strings except Spring's binary ones. Sources: the error is the message error (default error handling) or try_catch's `+"`@error`"+` object (strict mode); the class is `+"`error_class`"+` (default `+"`processing`"+`); the component is `+"`error_source_label()`"+`, else `+"`error_component`"+` metadata; topic/partition/offset/timestamp/attempts/failure times come from the retry router's `+"`retry_*`"+` metadata, else the Kafka input's `+"`kafka_*`"+` metadata; failure times default to now and attempts to 1.

The record is kept under `+"`max_message_bytes`"+` so the DLQ write cannot fail for size: validation errors, then the error text, then (last resort, recorded in `+"`dlq_original_size`"+`) the payload are cut.

The payload is what reached this output: if processors transform messages before they can fail, keep the raw bytes with a `+"`branch`"+` or put `+"`dlq_keep_raw`"+` first in the pipeline; its stash is written instead of the content.

The child receives a fresh message whose metadata is exactly the headers to write plus control keys starting with `+"`@`"+`: `+"`@key`"+` (original key, empty when null), `+"`@timestamp_ms`"+` and `+"`@topic`"+` (original topic). A `+"`redpanda`"+` or `+"`kafka_franz`"+` child writes them by default: it names its topic, and its `+"`key`"+`, `+"`timestamp_ms`"+` and `+"`metadata`"+` default to

`+"```yaml"+`
redpanda:
  seed_brokers: [ localhost:9092 ]    # required alone; inside route_errors or retry_router: output's
  topic: clickstream-dlq              # or '${! metadata("@topic") }-dlq'
  key: '${! metadata("@key") }'
  timestamp_ms: '${! metadata("@timestamp_ms") }'
  metadata:
    include_patterns: [ '^[^@]' ]     # every header, no control key
`+"```"+`

A failed DLQ write fails (nacks) the input message, so its offset is never committed.

Metrics: `+"`dlq_dead_lettered`"+` (label `+"`class`"+`), `+"`dlq_write_errors`"+`.`).
		Fields(
			service.NewOutputField(dlFieldOutput).Description("The output the dead letters are written to."),
			service.NewStringEnumField(dlFieldDialect, string(Native), string(KafkaConnect), string(Spring)).
				Description("Envelope header names and number encoding.").Default(string(Native)),
			service.NewIntField(dlFieldMaxBytes).Description("Upper bound of a dead-letter record (value, key, headers); keep it at or below the topic's max.message.bytes.").Default(defaultMaxMessageLen),
			service.NewStringField(dlFieldGroup).Description("Consumer group written to the envelope; empty uses metadata `kafka_consumer_group` when present.").Default(""),
			service.NewStringField(dlFieldPipeline).Description("Pipeline name written to the envelope.").Default("pipeline"),
			service.NewStringListField(dlFieldExclude).Description("Regular expressions of metadata keys that are not original headers; used only when the input did not record the record's headers.").Default(defaultExclude).Advanced(),
			service.NewOutputMaxInFlightField().Default(64),
		).
		Example("Native envelope", "Dead-letter to a Kafka topic.", `
output:
  dead_letter:
    pipeline: clickstream
    consumer_group: clickstream
    output:
      redpanda:
        seed_brokers: [ localhost:9092 ]
        topic: clickstream-dlq
`)
}

func init() {
	service.MustRegisterBatchOutput("dead_letter", deadLetterSpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			o, err := newDeadLetter(conf, res)
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			mif, err := conf.FieldMaxInFlight()
			return o, service.BatchPolicy{}, mif, err
		})
}

type deadLetter struct {
	child    *service.OwnedOutput
	primed   primed
	dialect  Dialect
	maxBytes int
	group    string
	pipeline string
	exclude  []*regexp.Regexp
	now      func() time.Time

	lettered *service.MetricCounter
	failed   *service.MetricCounter
}

func newDeadLetter(conf *service.ParsedConfig, res *service.Resources) (*deadLetter, error) {
	d := &deadLetter{now: time.Now}
	raw, err := conf.FieldAny(dlFieldOutput)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dlFieldOutput, err)
	}
	// Inside retry_router or route_errors the router has lent its
	// connection already; alone, nothing does.
	if err := requireBrokers(raw, dlFieldOutput, "a dead_letter takes them only from the output of a retry_router or route_errors around it"); err != nil {
		return nil, err
	}
	if d.child, err = ownedChild(conf, dlFieldOutput, letterDefaults); err != nil {
		return nil, err
	}
	ds, err := conf.FieldString(dlFieldDialect)
	if err != nil {
		return nil, err
	}
	if d.dialect, err = ParseDialect(ds); err != nil {
		return nil, err
	}
	if d.maxBytes, err = conf.FieldInt(dlFieldMaxBytes); err != nil {
		return nil, err
	}
	if d.group, err = conf.FieldString(dlFieldGroup); err != nil {
		return nil, err
	}
	if d.pipeline, err = conf.FieldString(dlFieldPipeline); err != nil {
		return nil, err
	}
	pats, err := conf.FieldStringList(dlFieldExclude)
	if err != nil {
		return nil, err
	}
	for _, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dlFieldExclude, err)
		}
		d.exclude = append(d.exclude, re)
	}
	d.lettered = res.Metrics().NewCounter("dlq_dead_lettered", "class")
	d.failed = res.Metrics().NewCounter("dlq_write_errors")
	return d, nil
}

func (d *deadLetter) Connect(context.Context) error { return d.primed.prime(d.child) }

// WriteBatch writes the whole batch to the child and waits for its ack, so
// an error here nacks every input message of the batch: nothing is
// committed that is not in the DLQ.
func (d *deadLetter) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	out := make(service.MessageBatch, 0, len(batch))
	classes := make([]string, 0, len(batch))
	for _, m := range batch {
		letter, class, err := d.letter(m)
		if err != nil {
			return err
		}
		out = append(out, letter)
		classes = append(classes, class)
	}
	if err := d.child.WriteBatch(ctx, out); err != nil {
		d.failed.Incr(1)
		return fmt.Errorf("dead letter write: %w", err)
	}
	for _, c := range classes {
		d.lettered.Incr(1, c)
	}
	return nil
}

// letter builds the child message for one failed message.
func (d *deadLetter) letter(m *service.Message) (*service.Message, string, error) {
	value, err := m.AsBytes()
	if err != nil {
		return nil, "", err
	}
	if raw, ok := m.MetaGetMut(meta.StashRaw); ok {
		if b, ok := raw.([]byte); ok {
			value = b
		}
	}
	now := d.now().UnixMilli()
	e := NewEnvelope()
	e.Error, e.Component = failureOf(m)
	if e.Error == "" {
		e.Error = "unknown error"
	}
	e.Class = firstNonEmpty(metaStr(m, meta.ErrorClass), meta.ClassProcessing)
	e.Topic = firstMeta(m, meta.RetryOriginalTopic, meta.KafkaTopic)
	e.Partition = metaInt(m, meta.RetryOriginalPartition, meta.KafkaPartition)
	e.Offset = metaInt(m, meta.RetryOriginalOffset, meta.KafkaOffset)
	e.TimestampMs = metaInt(m, meta.RetryOriginalTimestampMs, meta.KafkaTimestampMs)
	e.ConsumerGroup = firstNonEmpty(d.group, metaStr(m, meta.KafkaConsumerGroup))
	if e.Attempts = metaInt(m, meta.RetryAttempt); e.Attempts == Unknown {
		e.Attempts = 1
	}
	if e.FirstFailureMs = metaInt(m, meta.RetryFirstFailureMs); e.FirstFailureMs == Unknown {
		e.FirstFailureMs = now
	}
	if e.LastFailureMs = metaInt(m, meta.RetryLastFailureMs); e.LastFailureMs == Unknown {
		e.LastFailureMs = now
	}
	e.Pipeline = d.pipeline
	e.ValidationErrors = metaStr(m, meta.ValidationErrors)

	rec := Record{Key: originalKey(m), Value: value, Headers: originalHeaders(m, d.exclude), TimestampMs: e.TimestampMs}
	rec, _ = Fit(rec, &e, d.dialect, d.maxBytes)

	out := service.NewMessage(rec.Value).WithContext(m.Context())
	for _, h := range rec.Headers {
		out.MetaSetMut(h.Key, string(h.Value))
	}
	out.MetaSetMut(meta.StashKey, string(rec.Key))
	ts := rec.TimestampMs
	if ts == Unknown {
		ts = now
	}
	out.MetaSetMut(meta.StashTimestampMs, strconv.FormatInt(ts, 10))
	out.MetaSetMut(meta.StashTopic, e.Topic)
	return out, e.Class, nil
}

func (d *deadLetter) Close(ctx context.Context) error { return d.child.Close(ctx) }
