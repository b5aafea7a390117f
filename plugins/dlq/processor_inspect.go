package dlq

import (
	"context"
	"regexp"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func inspectSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		Summary("Aggregates dead letters (any dialect): counts by error class and error message, failure time range, sample records.").
		Description("Messages pass through unchanged. The aggregation is logged at close and, when run by the `dlq inspect` command, printed by it. Metrics: `dlq_inspected` (label `class`).").
		Fields(filterFields()...).
		Field(service.NewIntField("samples").Description("Number of sample records kept.").Default(5))
}

func init() {
	service.MustRegisterBatchProcessor("dlq_inspect", InspectSpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
			return NewInspectProcessor(conf, res, nil, nil)
		})
}

// InspectSpec is the config spec of the dlq_inspect processor.
func InspectSpec() *service.ConfigSpec { return inspectSpec() }

// NewInspectProcessor builds a dlq_inspect processor that aggregates into
// in (nil: its own, logged at close) with the config's filter, and tells
// observe (may be nil) the position of every record it read.
func NewInspectProcessor(conf *service.ParsedConfig, res *service.Resources, in *Inspector, observe func(partition, offset int64)) (service.BatchProcessor, error) {
	f, err := filterFromConfig(conf)
	if err != nil {
		return nil, err
	}
	n, err := conf.FieldInt("samples")
	if err != nil {
		return nil, err
	}
	if in == nil {
		in = &Inspector{MaxSamples: n, MaxErrors: 20}
	}
	in.Filter = f
	return &inspectProc{in: in, observe: observe, exclude: compileExclude(), log: res.Logger(),
		counted: res.Metrics().NewCounter("dlq_inspected", "class")}, nil
}

type inspectProc struct {
	in      *Inspector
	observe func(partition, offset int64)
	exclude []*regexp.Regexp
	log     *service.Logger
	counted *service.MetricCounter
}

func (p *inspectProc) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	for _, m := range batch {
		rec, err := recordOf(m, p.exclude)
		if err != nil {
			return nil, err
		}
		p.counted.Incr(1, firstNonEmpty(p.in.Add(rec), "unreadable"))
		if p.observe != nil {
			p.observe(metaInt(m, meta.KafkaPartition), metaInt(m, meta.KafkaOffset))
		}
	}
	return []service.MessageBatch{batch}, nil
}

func (p *inspectProc) Close(context.Context) error {
	s := p.in.Summary()
	p.log.With("total", s.Total, "matched", s.Matched).Infof("dlq_inspect: by class %v, first %s, last %s", s.ByClass, s.First, s.Last)
	return nil
}
