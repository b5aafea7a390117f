package dlq

import (
	"context"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func routeErrorsSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		Summary("Sends failed messages to `dlq` and the others to `output`.").
		Description(`
A message is failed when it is errored (default error handling), when it carries try_catch's `+"`@error`"+` object (strict error handling, where errored messages never reach an output), or when it has `+"`error_class`"+` metadata.

Each message is acknowledged only when the output it was routed to acknowledged it; a failed write nacks just the messages of that route, so the input retries them and never commits their offsets.`).
		Fields(
			service.NewOutputField("output").Description("Where messages that did not fail go."),
			service.NewOutputField("dlq").Description("Where failed messages go, normally a `dead_letter` output."),
			service.NewOutputMaxInFlightField().Default(64),
		).
		Example("Clickstream", "Valid events to the main topic, the rest to the dead-letter topic.", `
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ localhost:9092 ], topic: clickstream-clean }
    dlq:
      dead_letter:
        pipeline: clickstream
        output:
          redpanda:
            seed_brokers: [ localhost:9092 ]
            topic: clickstream-dlq
            key: '${! metadata("@key") }'
            timestamp_ms: '${! metadata("@timestamp_ms") }'
            metadata: { include_patterns: [ '^[^@]' ] }
`)
}

func init() {
	service.MustRegisterBatchOutput("route_errors", routeErrorsSpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			if err := inheritConnection(conf, "output", "dlq"); err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			main, err := conf.FieldOutput("output")
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			dlq, err := conf.FieldOutput("dlq")
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			mif, err := conf.FieldMaxInFlight()
			return &routeErrors{main: main, dlq: dlq}, service.BatchPolicy{}, mif, err
		})
}

type routeErrors struct {
	main, dlq *service.OwnedOutput
	primed    primed
}

func (r *routeErrors) Connect(context.Context) error { return r.primed.prime(r.main, r.dlq) }

func (r *routeErrors) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	var okIdx, failIdx []int
	var ok, failed service.MessageBatch
	for i, m := range batch {
		if IsFailed(m) {
			failIdx, failed = append(failIdx, i), append(failed, m)
		} else {
			okIdx, ok = append(okIdx, i), append(ok, m)
		}
	}
	// Both routes are written concurrently; each waits for its own acks.
	var wg sync.WaitGroup
	var okErr, failErr error
	if len(ok) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); okErr = r.main.WriteBatch(ctx, ok) }()
	}
	if len(failed) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); failErr = r.dlq.WriteBatch(ctx, failed) }()
	}
	wg.Wait()
	if okErr == nil && failErr == nil {
		return nil
	}
	headline := okErr
	if headline == nil {
		headline = failErr
	}
	bErr := service.NewBatchError(batch, headline)
	for _, route := range []struct {
		idx []int
		err error
	}{{okIdx, okErr}, {failIdx, failErr}} {
		if route.err == nil {
			continue
		}
		for _, i := range route.idx {
			bErr = bErr.Failed(i, route.err)
		}
	}
	return bErr
}

func (r *routeErrors) Close(ctx context.Context) error {
	err := r.main.Close(ctx)
	if derr := r.dlq.Close(ctx); err == nil {
		err = derr
	}
	return err
}
