package dlq

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/eventtime"
)

const (
	rpFieldClass    = "class"
	rpFieldContains = "error_contains"
	rpFieldSince    = "since"
	rpFieldUntil    = "until"
	rpFieldKey      = "key"
	rpFieldTo       = "to"
	rpFieldMax      = "max_replays"
)

func filterFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(rpFieldClass).Description("Comma-separated error classes to select; empty selects all.").Default(""),
		service.NewStringField(rpFieldContains).Description("Select errors containing this text (case-insensitive).").Default(""),
		service.NewStringField(rpFieldSince).Description("Select failures at or after this time (RFC 3339 / ISO 8601, no zone = UTC).").Default(""),
		service.NewStringField(rpFieldUntil).Description("Select failures before this time.").Default(""),
		service.NewStringField(rpFieldKey).Description("Select this exact record key; empty selects all.").Default(""),
	}
}

func filterFromConfig(conf *service.ParsedConfig) (Filter, error) {
	var f Filter
	s := func(k string) string { v, _ := conf.FieldString(k); return strings.TrimSpace(v) }
	for _, c := range strings.Split(s(rpFieldClass), ",") {
		if c = strings.TrimSpace(c); c != "" {
			f.Classes = append(f.Classes, c)
		}
	}
	f.ErrorContains = s(rpFieldContains)
	var err error
	for k, dst := range map[string]*time.Time{rpFieldSince: &f.Since, rpFieldUntil: &f.Until} {
		if v := s(k); v != "" {
			if *dst, err = eventtime.ParseString(v); err != nil {
				return f, fmt.Errorf("%s: %w", k, err)
			}
		}
	}
	if k := s(rpFieldKey); k != "" {
		f.Key = []byte(k)
	}
	return f, nil
}

func replaySpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		Summary("Turns dead letters (any header dialect: native, kafka_connect, spring, and Kafka Streams' __streams.errors.*) back into records for their original topic.").
		Description(`
Reads messages from a DLQ topic (redpanda input). Records not selected by the filters are dropped. A selected record keeps its bytes, key, timestamp and original headers; the envelope is stripped and `+"`dlq_replay_count`"+` is incremented. A record already replayed `+"`max_replays`"+` times is refused: the message errors (error_class `+"`fatal`"+`) and stays in the DLQ.

The metadata is replaced by the headers to write plus control keys for the output: `+"`@topic`"+` (destination: `+"`to`"+` or the original topic), `+"`@key`"+`, `+"`@timestamp_ms`"+`. Output config:

`+"```yaml"+`
redpanda:
  seed_brokers: *brokers              # the input's: seed_brokers: &brokers [ localhost:9092 ]
  topic: '${! metadata("@topic") }'
  key: '${! metadata("@key") }'
  timestamp_ms: '${! metadata("@timestamp_ms") }'
  metadata: { include_patterns: [ '^[^@]' ] }
`+"```"+`

Metrics: `+"`dlq_replayed`, `dlq_replay_skipped`, `dlq_replay_refused`"+`.`).
		Fields(filterFields()...).
		Fields(
			service.NewStringField(rpFieldTo).Description("Destination topic; empty = the original topic from the envelope.").Default(""),
			service.NewIntField(rpFieldMax).Description("Refuse records already replayed this many times.").Default(3),
		)
}

func init() {
	service.MustRegisterBatchProcessor("dlq_replay", ReplaySpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
			return NewReplayProcessor(conf, res, nil)
		})
}

// ReplaySpec is the config spec of the dlq_replay processor.
func ReplaySpec() *service.ConfigSpec { return replaySpec() }

// ReplayObserver is told the outcome of every dead letter a dlq_replay
// processor decided, once the batch holding it was handed on: the `dlq`
// command counts with it and stops when the topic is read to its end.
type ReplayObserver func(partition, offset int64, o Outcome)

// NewReplayProcessor builds a dlq_replay processor; observe may be nil. A
// command registers it on its own environment with observe as a closure
// over its run, so nothing is shared between runs.
func NewReplayProcessor(conf *service.ParsedConfig, res *service.Resources, observe ReplayObserver) (service.BatchProcessor, error) {
	f, err := filterFromConfig(conf)
	if err != nil {
		return nil, err
	}
	r := &replayProc{rp: Replayer{Filter: f}, exclude: compileExclude(), observe: observe}
	if r.rp.To, err = conf.FieldString(rpFieldTo); err != nil {
		return nil, err
	}
	if r.rp.MaxReplays, err = conf.FieldInt(rpFieldMax); err != nil {
		return nil, err
	}
	m := res.Metrics()
	r.replayed, r.skipped, r.refused = m.NewCounter("dlq_replayed"), m.NewCounter("dlq_replay_skipped"), m.NewCounter("dlq_replay_refused")
	return r, nil
}

func compileExclude() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(defaultExclude))
	for i, p := range defaultExclude {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

// recordOf rebuilds the Kafka record a DLQ message was read from.
func recordOf(m *service.Message, exclude []*regexp.Regexp) (Record, error) {
	v, err := m.AsBytes()
	if err != nil {
		return Record{}, err
	}
	return Record{Key: originalKey(m), Value: v, Headers: originalHeaders(m, exclude), TimestampMs: metaInt(m, meta.KafkaTimestampMs)}, nil
}

type replayProc struct {
	rp      Replayer
	exclude []*regexp.Regexp
	observe ReplayObserver

	replayed, skipped, refused *service.MetricCounter
}

func (r *replayProc) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	out := make(service.MessageBatch, 0, len(batch))
	for _, m := range batch {
		rec, err := recordOf(m, r.exclude)
		if err != nil {
			return nil, err
		}
		d := r.rp.Decide(rec)
		if r.observe != nil {
			// deferred: a run may only end after this batch was handed on
			defer r.observe(metaInt(m, meta.KafkaPartition), metaInt(m, meta.KafkaOffset), d.Outcome)
		}
		switch d.Outcome {
		case Skip:
			r.skipped.Incr(1)
			continue
		case Refused:
			r.refused.Incr(1)
			m.MetaSetMut(meta.ErrorClass, meta.ClassFatal)
			m.SetError(fmt.Errorf("dlq_replay: %w", d.Err))
			out = append(out, m)
			continue
		}
		r.replayed.Incr(1)
		clearMeta(m)
		for _, h := range d.Headers {
			m.MetaSetMut(h.Key, string(h.Value))
		}
		m.MetaSetMut(meta.StashTopic, d.Topic)
		m.MetaSetMut(meta.StashKey, string(rec.Key))
		ts := d.Envelope.TimestampMs
		if ts == Unknown {
			ts = rec.TimestampMs // Connect keeps the original timestamp on the DLQ record
		}
		m.MetaSetMut(meta.StashTimestampMs, strconv.FormatInt(ts, 10))
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return []service.MessageBatch{out}, nil
}

func clearMeta(m *service.Message) {
	var keys []string
	_ = m.MetaWalkMut(func(k string, _ any) error { keys = append(keys, k); return nil })
	for _, k := range keys {
		m.MetaDelete(k)
	}
}

func (r *replayProc) Close(context.Context) error { return nil }
