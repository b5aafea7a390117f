package dlq

import (
	"context"
	"fmt"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/childconf"
	"github.com/streamkit/pipeline/internal/failure"
	"github.com/streamkit/pipeline/internal/meta"
)

func routeErrorsSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		LintRule(childconf.BrokersLintRule("output", "output", "late", "dlq")).
		Summary("Sends failed messages to `dlq` (late events to `late` when set) and the others to `output`.").
		Description(`
A message is failed when it is errored (default error handling), when it carries try_catch's `+"`@error`"+` object (strict error handling, where errored messages never reach an output), or when it has `+"`error_class`"+` metadata. A failed message of `+"`error_class: late`"+` (the window buffer's late events) goes to `+"`late`"+` when it is set.

Each message is acknowledged only when the output it was routed to acknowledged it; a failed write nacks just the messages of that route, so the input retries them and never commits their offsets.

Children that are `+"`redpanda`"+` or `+"`kafka_franz`"+` outputs without `+"`seed_brokers`"+` (also nested, and the cases of a `+"`switch`"+` `+"`output`"+`) take the connection (`+"`seed_brokers`, `tls`, `sasl`, `client_id`"+`) of `+"`output`"+` (its first Kafka output that names brokers), whole, so a config writes its brokers once; `+"`client_id`"+` may differ. A child that names its own `+"`seed_brokers`"+` is another connection; one that sets `+"`tls`"+` or `+"`sasl`"+` but no `+"`seed_brokers`"+` is an error (it would mix two connections). `+"`pipeline lint`"+` names a child that would have no brokers. The input refers to the same brokers with a YAML alias: `+"`seed_brokers: &brokers [ ... ]`"+` where the config first names them, `+"`seed_brokers: *brokers`"+` elsewhere. The `+"`late`"+` child and a Kafka `+"`dlq`"+` child (not a `+"`dead_letter`"+`) write the event as it was read (`+"`dlq_keep_raw`"+`'s stash, else the payload) with its error text in metadata `+"`error`"+`, and default their `+"`key`"+` to the original key and their `+"`metadata`"+` to `+"`include_patterns: [ \"^window_\", \"^error\" ]`"+` (late) or `+"`[ \"^error\" ]`"+` (dlq).`).
		Fields(
			service.NewOutputField("output").Description("Where messages that did not fail go."),
			service.NewOutputField("dlq").Description("Where failed messages go, normally a `dead_letter` output."),
			service.NewOutputField("late").Description("Where late events go instead of `dlq`.").Optional(),
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
          redpanda: { topic: clickstream-dlq }
`).
		Example("Window results", "Results to the main topic, late events and events that cannot be windowed to their own topics.", `
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ localhost:9092 ], topic: sessions, key: '${! @window_id }' }
    late:
      redpanda: { topic: sessions-late }
    dlq:
      redpanda: { topic: sessions-dlq }
`)
}

// deadDefaults are the fields of a Kafka `dlq` child of route_errors that
// the contract decides: the original key, the error as headers.
var deadDefaults = map[string]any{
	"key":      `${! @` + meta.KafkaKey + `.or("") }`,
	"metadata": map[string]any{"include_patterns": []string{"^" + meta.TryCatchError}},
}

func init() {
	service.MustRegisterBatchOutput("route_errors", routeErrorsSpec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchOutput, service.BatchPolicy, int, error) {
			r, err := newRouteErrors(conf)
			if err != nil {
				return nil, service.BatchPolicy{}, 0, err
			}
			mif, err := conf.FieldMaxInFlight()
			return r, service.BatchPolicy{}, mif, err
		})
}

func newRouteErrors(conf *service.ParsedConfig) (*routeErrors, error) {
	r := &routeErrors{}
	// The cases of a switch output lend each other their connection too.
	if err := inheritConnection(conf, "output", "output"); err != nil {
		return nil, err
	}
	var err error
	if r.main, err = conf.FieldOutput("output"); err != nil {
		return nil, fmt.Errorf("output: %w", err)
	}
	if err := inheritConnection(conf, "output", "dlq"); err != nil {
		return nil, err
	}
	raw, err := conf.FieldAny("dlq")
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	if r.dlqAsRead, err = childconf.Fill(raw, deadDefaults); err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	if r.dlq, err = conf.FieldOutput("dlq"); err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	if conf.Contains("late") {
		if err := inheritConnection(conf, "output", "late"); err != nil {
			return nil, err
		}
		if r.late, err = ownedChild(conf, "late", failure.LateDefaults); err != nil {
			return nil, fmt.Errorf("late: %w", err)
		}
	}
	return r, nil
}

type routeErrors struct {
	main, dlq *service.OwnedOutput
	late      *service.OwnedOutput // nil: late events go to dlq
	// dlqAsRead: dlq is a plain Kafka output, which writes the event as
	// read (a dead_letter does that itself, with its envelope).
	dlqAsRead bool
	primed    primed
}

func (r *routeErrors) Connect(context.Context) error {
	if r.late != nil {
		return r.primed.prime(r.main, r.dlq, r.late)
	}
	return r.primed.prime(r.main, r.dlq)
}

// route is one child's share of a batch.
type route struct {
	child *service.OwnedOutput
	msgs  service.MessageBatch
	idx   []int
	err   error
}

func (r *routeErrors) WriteBatch(ctx context.Context, batch service.MessageBatch) error {
	main, dlq, late := &route{child: r.main}, &route{child: r.dlq}, &route{child: r.late}
	for i, m := range batch {
		to := main
		switch {
		case !IsFailed(m):
		case r.late != nil && failure.IsLate(m):
			to, m = late, m.Copy()
			failure.AsRead(m)
		case r.dlqAsRead:
			to, m = dlq, m.Copy()
			failure.AsRead(m)
		default:
			to = dlq
		}
		to.msgs, to.idx = append(to.msgs, m), append(to.idx, i)
	}
	// The routes are written concurrently; each waits for its own acks.
	var wg sync.WaitGroup
	routes := []*route{main, dlq, late}
	for _, rt := range routes {
		if len(rt.msgs) > 0 {
			wg.Go(func() { rt.err = rt.child.WriteBatch(ctx, rt.msgs) })
		}
	}
	wg.Wait()
	var bErr *service.BatchError
	for _, rt := range routes {
		if rt.err == nil {
			continue
		}
		if bErr == nil {
			bErr = service.NewBatchError(batch, rt.err)
		}
		for _, i := range rt.idx {
			bErr = bErr.Failed(i, rt.err)
		}
	}
	if bErr == nil {
		return nil
	}
	return bErr
}

func (r *routeErrors) Close(ctx context.Context) error {
	err := r.main.Close(ctx)
	if derr := r.dlq.Close(ctx); err == nil {
		err = derr
	}
	if r.late != nil {
		if lerr := r.late.Close(ctx); err == nil {
			err = lerr
		}
	}
	return err
}
