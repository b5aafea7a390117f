package retry

import (
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/childconf"
)

// Field names of the retry_router output.
const (
	rtFieldOutput       = "output"
	rtFieldRetry        = "retry"
	rtFieldDLQ          = "dlq"
	rtFieldLate         = "late"
	rtFieldDelays       = "delays"
	rtFieldExponential  = "exponential"
	rtFieldExpInitial   = "initial_delay"
	rtFieldExpMult      = "multiplier"
	rtFieldExpMax       = "max_delay"
	rtFieldExpStages    = "stages"
	rtFieldJitter       = "jitter"
	rtFieldTopics       = "topics"
	rtFieldTopicPattern = "topic_pattern"
	rtFieldMaxAttempts  = "max_attempts"
	rtFieldRetriable    = "retriable"
	rtFieldOrdering     = "ordering"
	rtFieldMaxInFlight  = "max_in_flight"
	rtFieldCopartition  = "copartition"
)

// routerLintRule lets `pipeline lint` name a broken ladder before anything
// runs; the constructor checks the same (lint can be skipped).
const routerLintRule = `
map dur {
  root = if this == null || this == "" { 0 } else { this.string().parse_duration().catch(-1) }
}
let delays = if this.delays.type() == "array" { this.delays } else { [] }
let bad_delays = $delays.enumerated().map_each(d -> if d.value.apply("dur") < 0 { "field delays[%d]: %v is not a duration >= 0".format(d.index, d.value) } else { null })
root = [
  if $delays.length() == 0 && this.exponential.stages.or(0) <= 0 { "field delays: the retry ladder is empty: give delays, or exponential with stages > 0" } else { null },
  if this.exponential.initial_delay.or("1s").apply("dur") < 0 { "field exponential.initial_delay: must be a duration >= 0" } else { null },
  if this.exponential.multiplier.or(2) < 1 { "field exponential.multiplier: must be >= 1" } else { null },
].merge($bad_delays).filter(x -> x != null)
`

// defaultRetriable: processing errors (or errors nobody classified) are
// retried; validation, late and fatal errors are not.
const defaultRetriable = `@error_class.or("") == "" || @error_class.or("") == "processing"`

func retryRouterSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Stable().
		Categories("Utility").
		LintRule(routerLintRule+childconf.BrokersLintRule(rtFieldOutput, rtFieldOutput, rtFieldRetry, rtFieldLate, rtFieldDLQ)).
		Summary("Routes processed messages: successes to `output`, retriable failures to the next retry stage topic through `retry`, fatal or exhausted failures to `dlq`.").
		Description(`
The producing half of non-blocking Kafka retries (Spring-style retry topics); the `+"`retry_topics`"+` input is the consuming half. A message is a failure when a processor flagged it with an error.

### Routing

- No error: written to `+"`output`"+`.
- Error and the `+"`retriable`"+` condition is false: written to `+"`dlq`"+` with `+"`error_class`"+` `+"`fatal`"+` (a more specific class already set by the failing component, `+"`validation`"+` or `+"`late`"+`, is kept).
- Error, retriable, and attempts left: written to `+"`retry`"+` for the next stage, with the stage topic in metadata `+"`retry_topic`"+`.
- Error, retriable, and this was attempt `+"`max_attempts`"+`: written to `+"`dlq`"+` with `+"`error_class`"+` `+"`retries_exhausted`"+`.

The write to the chosen child is the acknowledgement of the message: the source offset is committed only after that child acknowledged, and a child error nacks the message so it is redelivered.

A batch is routed as a batch: its messages for each child are written to that child as one batch (the three children concurrently), so a burst of failures costs one produce per child rather than one per record; a failed child write nacks only the messages of that write. With `+"`ordering: key`"+` messages are routed one at a time in order.

### The retry child

The router does not own a Kafka producer; `+"`retry`"+` is any output that writes to the topic in metadata `+"`retry_topic`"+` under the key in `+"`retry_key`"+` with the metadata as headers. Left out, it is a `+"`redpanda`"+` output on the connection of `+"`output`"+`:

`+"```yaml"+`
redpanda:
  seed_brokers: [ localhost:9092 ]    # with tls and sasl: those of output
  topic: ${! @retry_topic }
  key: ${! @retry_key.or("") }
  metadata:
    include_patterns: [ '^[^@]' ]     # every header, no stash
`+"```"+`

A `+"`redpanda`"+` or `+"`kafka_franz`"+` child written in the config gets the same `+"`topic`"+`, `+"`key`"+` and `+"`metadata`"+` when it leaves them out, and every Kafka child (retry, late, dlq, also nested, e.g. the output of a `+"`dead_letter`"+`) without `+"`seed_brokers`"+` takes the connection (`+"`seed_brokers`, `tls`, `sasl`, `client_id`"+`) of `+"`output`"+`: a config writes its brokers once. See "One connection per config" below. The message handed to `+"`retry`"+` has the payload as it reached the router (processors such as `+"`http`"+` or `+"`branch`"+` keep the original payload when they fail), the original metadata (headers) without `+"`kafka_*`"+` and `+"`error_class`"+`, plus `+"`retry_key`"+` (the original key), `+"`retry_topic`"+` and the retry state as decimal strings: `+"`retry_attempt`"+` (failed attempts so far), `+"`retry_due_ms`"+`, `+"`retry_first_failure_ms`"+`, `+"`retry_last_failure_ms`"+`, `+"`retry_original_topic`"+`, `+"`retry_original_partition`"+`, `+"`retry_original_offset`"+`, `+"`retry_original_timestamp_ms`"+`, `+"`retry_last_error`"+` (and `+"`retry_order_ticket`"+` with `+"`ordering: key`"+`).

### The late child

When `+"`late`"+` is set, failures of `+"`error_class: late`"+` (the window buffer's late events, never retried) go there instead of `+"`dlq`"+`, as they were read: `+"`dlq_keep_raw`"+`'s stash as the payload, metadata `+"`error`"+` with the error text, `+"`error_class`"+` and the event's `+"`window_*`"+` metadata. They count in `+"`retry_fatal`"+` (class `+"`late`"+`) as before.

### The dlq child

The message handed to `+"`dlq`"+` keeps its payload, metadata and error flag and gets `+"`error_class`"+` and the state fields `+"`retry_attempt`"+`, `+"`retry_first_failure_ms`"+`, `+"`retry_last_failure_ms`"+`, `+"`retry_original_topic`"+`, `+"`retry_original_partition`"+`, `+"`retry_original_offset`"+`, `+"`retry_original_timestamp_ms`"+`, `+"`retry_last_error`"+` (numbers as integers). It is meant for the `+"`dead_letter`"+` output.

### One connection per config

A config writes its broker list and security once:

- Kafka children of the router (`+"`retry`, `late`, `dlq`"+`, and outputs nested in them or in the cases of a `+"`switch`"+` `+"`output`"+`) leave `+"`seed_brokers`"+`, `+"`tls`"+` and `+"`sasl`"+` out and take those of `+"`output`"+` (its first Kafka output that names brokers), whole. `+"`client_id`"+` may differ.
- A child that names its own `+"`seed_brokers`"+` is another connection (another cluster) and takes nothing from `+"`output`"+`. A child that sets `+"`tls`"+` or `+"`sasl`"+` but no `+"`seed_brokers`"+` is an error, as it would mix its security with brokers from `+"`output`"+` and nothing would say so.
- Components that are not children (the input, a `+"`redpanda`"+` input or output elsewhere) refer to the first one with a YAML anchor and alias: `+"`seed_brokers: &brokers [ ... ]`"+` where the config first names them, `+"`seed_brokers: *brokers`"+` elsewhere (likewise `+"`tls: &tls`"+` / `+"`tls: *tls`"+`). An alias is the same value, so the two cannot differ; an alias without its anchor fails `+"`pipeline lint`"+`.
- `+"`pipeline lint`"+` names every child that would have no brokers (`+"`output`"+` names none to lend; the default `+"`retry`"+` child counts) and every half connection.

### Ladder

Stage n (1-based) uses delay n and topic n. A message enters stage n after its n-th failed attempt; when `+"`max_attempts`"+` exceeds the number of stages + 1 the last stage is reused, so one delay with one topic and `+"`max_attempts: 5`"+` is a fixed-delay retry on a single topic. Due time = failure time + stage delay (minus jitter).

### Ordering

With `+"`ordering: none`"+` (the default, as in Spring) a retried record is overtaken by later records of its key. With `+"`ordering: key`"+`, while a key has a record on the retry path every later record of that key is parked behind it (sent to the same stage topic, due no earlier than it and at least the first stage delay from now) and only proceeds once the records ahead of it left the retry path. Costs: parked records are processed again when released (processors must be idempotent), they add latency to healthy records of a failing key, `+"`max_in_flight`"+` is forced to 1, and the bookkeeping is process memory: it is lost on restart and is only correct when one process consumes every partition of the source and retry topics for a key.

### Metrics

- `+"`retry_sent`"+` (counter, labels `+"`stage`"+`, `+"`topic`"+`): messages written to a stage.
- `+"`retry_exhausted`"+` (counter): messages dead-lettered as `+"`retries_exhausted`"+`.
- `+"`retry_fatal`"+` (counter, label `+"`class`"+`): non-retriable messages dead-lettered.
- `+"`retry_parked`"+` (counter): records parked behind their key (`+"`ordering: key`"+`).
`).
		Field(service.NewOutputField(rtFieldOutput).
			Description("Where successfully processed messages go.")).
		Field(service.NewOutputField(rtFieldRetry).
			Description("Where messages for a retry stage go; must write to the topic in metadata `retry_topic` with metadata as headers (see above). A `redpanda`/`kafka_franz` child defaults `topic`, `key` and `metadata` to exactly that; omitted, it is a `redpanda` output on the connection of `output`.").
			Default(defaultRetryChild)).
		Field(service.NewOutputField(rtFieldDLQ).
			Description("Where fatal and exhausted messages go, typically `dead_letter`.")).
		Field(service.NewOutputField(rtFieldLate).
			Description("Where events of `error_class: late` go (the window buffer's late events), instead of `dlq`: the payload as it was read (`dlq_keep_raw`'s stash, else as it reached the router) with metadata `error` (the error text), `error_class` and the event's `window_*` metadata. A `redpanda`/`kafka_franz` child defaults `key` to the original key and `metadata` to `include_patterns: [ \"^window_\", \"^error\" ]`.").
			Optional()).
		Field(service.NewStringListField(rtFieldDelays).
			Description("The delay of each stage, stage 1 first. Set this or `exponential`.").
			Examples([]string{"1s", "10s", "1m"}, []string{"30s"}).
			Default([]string{})).
		Field(service.NewObjectField(rtFieldExponential,
			service.NewDurationField(rtFieldExpInitial).
				Description("Delay of stage 1.").Default("1s"),
			service.NewFloatField(rtFieldExpMult).
				Description("Factor between the delays of consecutive stages (>= 1).").Default(2.0),
			service.NewDurationField(rtFieldExpMax).
				Description("Cap on any stage delay; `0s` means no cap.").Default("0s"),
			service.NewIntField(rtFieldExpStages).
				Description("Number of stages; 0 disables the exponential ladder.").Default(0),
		).Description("An exponential ladder, used when `delays` is empty.").Optional()).
		Field(service.NewFloatField(rtFieldJitter).
			Description("Each delay is reduced by a random fraction of up to `jitter` (0 to 1), so bursts of failures spread out; the delays (and cap) are upper bounds.").
			Default(0.0)).
		Field(service.NewStringListField(rtFieldTopics).
			Description("Explicit stage topics: one per stage, or a single topic reused by every stage. Empty means `topic_pattern`.").
			Examples([]string{"orders-retry-1s", "orders-retry-10s", "orders-retry-1m"}, []string{"orders-retry"}).
			Default([]string{})).
		Field(service.NewStringField(rtFieldTopicPattern).
			Description("Stage topic name when `topics` is empty: `{topic}` is the topic the message was first consumed from, `{stage}` the 1-based stage.").
			Default(DefaultTopicPattern)).
		Field(service.NewIntField(rtFieldMaxAttempts).
			Description("Total processing attempts including the first; 0 means one per stage plus the first. The last stage is reused when it exceeds the number of stages + 1.").
			Default(0)).
		Field(service.NewBloblangField(rtFieldRetriable).
			Description("A Bloblang query over the failed message returning a boolean: true retries, false dead-letters as fatal. `error()` is the error, metadata holds `error_class` and e.g. `http_status_code`. By default processing (and unclassified) errors are retriable and `validation`, `late` and `fatal` errors are not.").
			Examples(`@http_status_code.or("0").number() >= 500`, `!error().contains("invalid")`).
			Default(defaultRetriable)).
		Field(service.NewBoolField(rtFieldCopartition).
			Description("Write each stage record to the partition its event was first read from (a Kafka `retry` child gets `partitioner: manual` and `partition: ${! @retry_original_partition }`). The stage topics are then co-partitioned with the source, as `window_kafka`'s `retry_topics` needs: the copies of a partition's events are read by the instance that holds that partition's windows. The stage topics must have as many partitions as the source topics.").
			Default(false)).
		Field(service.NewStringEnumField(rtFieldOrdering, "none", "key").
			Description("`key` keeps per-key order across retries (see Ordering); `none` lets later records overtake a retried one.").
			Default("none").Advanced()).
		Field(service.NewOutputMaxInFlightField()).
		Example("Main topic and retry stages in one config",
			"The `redpanda` input reads the main topic, `retry_topics` the stage topics; both feed the same enrichment and the router sends each result on. A record failing is retried after 1s, 10s and 1m (the default retry child), then dead-lettered. The brokers are written once: the other inputs and `output` refer to them with a YAML alias, and every child writes with those of `output`.",
			`
input:
  broker:
    inputs:
      - redpanda:
          seed_brokers: &brokers [ localhost:9092 ]
          topics: [ orders ]
          consumer_group: enricher
      - retry_topics:
          seed_brokers: *brokers
          topics: [ orders-retry-1, orders-retry-2, orders-retry-3 ]
          consumer_group: enricher-retry

pipeline:
  processors:
    - branch:
        request_map: 'root = ""'
        processors:
          - http:
              url: http://profiles:8080/profiles/${! json("user_id") }
              verb: GET
              retries: 0
        result_map: 'root.profile = this'

output:
  retry_router:
    delays: [ 1s, 10s, 1m ]
    output:
      redpanda:
        seed_brokers: *brokers
        topic: orders-enriched
    dlq:
      dead_letter:
        output:
          redpanda: { topic: orders-dlq }
`).
		Example("Fixed delay on one reused topic",
			"Five attempts 30s apart, all retries on a single topic.",
			`
output:
  retry_router:
    delays: [ 30s ]
    topics: [ orders-retry ]
    max_attempts: 5
    output:
      drop: {}
    retry:
      redpanda:
        seed_brokers: [ localhost:9092 ]
        topic: ${! @retry_topic }
        key: ${! @retry_key.or("") }
        metadata:
          include_patterns: [ ".*" ]
    dlq:
      stdout: {}
`).
		Example("Exponential ladder with jitter",
			"Four stages 1s, 4s, 16s, 30s (capped), each up to 20% shorter.",
			`
output:
  retry_router:
    exponential:
      initial_delay: 1s
      multiplier: 4
      max_delay: 30s
      stages: 4
    jitter: 0.2
    retriable: '@http_status_code.or("0").number() >= 500 || @error_class.or("") == "processing"'
    output:
      drop: {}
    retry:
      drop: {}
    dlq:
      drop: {}
`)
}

func init() {
	err := service.RegisterBatchOutput("retry_router", retryRouterSpec(),
		func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			r, err := newRetryRouter(conf, mgr, realClock{}, nil)
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			return r, service.BatchPolicy{}, r.maxInFlight, nil
		})
	if err != nil {
		panic(err)
	}
}
