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
	service.MustRegisterBatchProcessor("dlq_inspect", inspectSpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
			f, err := filterFromConfig(conf)
			if err != nil {
				return nil, err
			}
			n, err := conf.FieldInt("samples")
			if err != nil {
				return nil, err
			}
			id, err := conf.FieldString(rpFieldRunID)
			if err != nil {
				return nil, err
			}
			p := &inspectProc{runID: id, exclude: compileExclude(), log: res.Logger(),
				counted: res.Metrics().NewCounter("dlq_inspected", "class")}
			p.in = &Inspector{Filter: f, MaxSamples: n, MaxErrors: 20}
			if run := lookupRun(id); run != nil && run.Inspector != nil {
				run.Inspector.Filter = f // the CLI's flags reach the filter through the template
				p.in = run.Inspector
			}
			return p, nil
		})
}

type inspectProc struct {
	in      *Inspector
	runID   string
	exclude []*regexp.Regexp
	log     *service.Logger
	counted *service.MetricCounter
}

func (p *inspectProc) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	run := lookupRun(p.runID)
	for _, m := range batch {
		rec, err := recordOf(m, p.exclude)
		if err != nil {
			return nil, err
		}
		p.counted.Incr(1, firstNonEmpty(p.in.Add(rec), "unreadable"))
		if run != nil {
			run.observe(metaInt(m, meta.KafkaPartition), metaInt(m, meta.KafkaOffset))
		}
	}
	return []service.MessageBatch{batch}, nil
}

func (p *inspectProc) Close(context.Context) error {
	s := p.in.Summary()
	p.log.With("total", s.Total, "matched", s.Matched).Infof("dlq_inspect: by class %v, first %s, last %s", s.ByClass, s.First, s.Last)
	return nil
}
