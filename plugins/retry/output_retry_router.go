package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
)

type retryRouter struct {
	ladder      *Ladder
	retriable   *bloblang.Executor
	order       *keyOrder // nil unless ordering: key
	out, retry  *service.OwnedOutput
	dlq         *service.OwnedOutput
	late        *service.OwnedOutput // nil: late events go to dlq
	clock       Clock
	log         *service.Logger
	maxInFlight int
	copartition bool // stage records to their event's partition (copartitionDefaults)

	primeMu sync.Mutex
	primed  bool

	sent      *service.MetricCounter
	exhausted *service.MetricCounter
	fatal     *service.MetricCounter
	parked    *service.MetricCounter
}

// newRetryRouter builds the router; rnd feeds jitter (nil = math/rand).
func newRetryRouter(conf *service.ParsedConfig, mgr *service.Resources, clock Clock, rnd func() float64) (*retryRouter, error) {
	ladder, err := ladderFromConfig(conf)
	if err != nil {
		return nil, err
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	ladder.Rand = rnd

	r := &retryRouter{
		ladder:    ladder,
		clock:     clock,
		log:       mgr.Logger(),
		sent:      mgr.Metrics().NewCounter("retry_sent", "stage", "topic"),
		exhausted: mgr.Metrics().NewCounter("retry_exhausted"),
		fatal:     mgr.Metrics().NewCounter("retry_fatal", "class"),
		parked:    mgr.Metrics().NewCounter("retry_parked"),
	}
	if r.retriable, err = conf.FieldBloblang(rtFieldRetriable); err != nil {
		return nil, fmt.Errorf("%s: %w", rtFieldRetriable, err)
	}
	if r.maxInFlight, err = conf.FieldMaxInFlight(); err != nil {
		return nil, err
	}
	if r.maxInFlight < 1 {
		return nil, fmt.Errorf("%s: must be at least 1, got %d", rtFieldMaxInFlight, r.maxInFlight)
	}
	ordering, err := conf.FieldString(rtFieldOrdering)
	if err != nil {
		return nil, err
	}
	if ordering == "key" {
		r.order = newKeyOrder(clock.Now())
		// Park decisions depend on the previous write's outcome.
		r.maxInFlight = 1
	}
	if r.copartition, err = conf.FieldBool(rtFieldCopartition); err != nil {
		return nil, err
	}
	if err := r.buildChildren(conf); err != nil {
		return nil, err
	}
	return r, nil
}

// ladderFromConfig reads and validates the ladder fields; errors name the
// offending field.
func ladderFromConfig(conf *service.ParsedConfig) (*Ladder, error) {
	l := &Ladder{}
	raw, err := conf.FieldStringList(rtFieldDelays)
	if err != nil {
		return nil, err
	}
	for i, s := range raw {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", rtFieldDelays, i, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("%s[%d]: negative delay %v", rtFieldDelays, i, d)
		}
		l.Delays = append(l.Delays, d)
	}
	if len(l.Delays) == 0 && conf.Contains(rtFieldExponential) {
		stages, err := conf.FieldInt(rtFieldExponential, rtFieldExpStages)
		if err != nil {
			return nil, err
		}
		if stages > 0 {
			initial, err := conf.FieldDuration(rtFieldExponential, rtFieldExpInitial)
			if err != nil {
				return nil, err
			}
			mult, err := conf.FieldFloat(rtFieldExponential, rtFieldExpMult)
			if err != nil {
				return nil, err
			}
			maxD, err := conf.FieldDuration(rtFieldExponential, rtFieldExpMax)
			if err != nil {
				return nil, err
			}
			if l.Delays, err = ExponentialDelays(initial, maxD, mult, stages); err != nil {
				return nil, err
			}
		}
	}
	if l.Jitter, err = conf.FieldFloat(rtFieldJitter); err != nil {
		return nil, err
	}
	if l.Topics, err = conf.FieldStringList(rtFieldTopics); err != nil {
		return nil, err
	}
	if l.TopicPattern, err = conf.FieldString(rtFieldTopicPattern); err != nil {
		return nil, err
	}
	if l.MaxAttempts, err = conf.FieldInt(rtFieldMaxAttempts); err != nil {
		return nil, err
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// Connect primes the children. Besides connecting them early this matters
// for shutdown: an OwnedOutput that was never written to has no
// transaction channel to close, and Close would wait for it forever.
func (r *retryRouter) Connect(context.Context) error {
	r.primeMu.Lock()
	defer r.primeMu.Unlock()
	if r.primed {
		return nil
	}
	for _, o := range r.children() {
		if err := o.Prime(); err != nil {
			return err
		}
	}
	r.primed = true
	return nil
}

// Write routes one message. Its return value is the message's ack: nil only
// once the chosen child acknowledged the write.
func (r *retryRouter) Write(ctx context.Context, msg *service.Message) error {
	if r.order != nil {
		if key, _ := msg.MetaGet(meta.KafkaKey); key != "" {
			return r.writeOrdered(ctx, msg, key)
		}
	}
	if msg.GetError() == nil {
		return r.out.Write(ctx, msg)
	}
	_, err := r.writeFailure(ctx, msg)
	return err
}

// failure gathers what the ladder needs to decide about a failed message.
func (r *retryRouter) failure(msg *service.Message) (prev State, retriable bool, class, lastErr string) {
	lastErr = msg.GetError().Error()
	prev, fromRetry, decErr := DecodeState(msg.MetaGet)
	if !fromRetry {
		prev = originOf(msg)
	}
	retriable = r.isRetriable(msg)
	if decErr != nil {
		// A corrupted state cannot be continued safely; dead-letter it
		// rather than restart its attempt count.
		prev.OriginalTopic = firstNonEmpty(prev.OriginalTopic, metaString(msg, meta.KafkaTopic))
		retriable = false
		lastErr += "; corrupt retry state: " + decErr.Error()
	}
	class, _ = msg.MetaGet(meta.ErrorClass)
	return prev, retriable, class, lastErr
}

// writeFailure sends a failed message to its next stage or the DLQ.
func (r *retryRouter) writeFailure(ctx context.Context, msg *service.Message) (Decision, error) {
	prev, retriable, class, lastErr := r.failure(msg)
	dec := r.ladder.OnFailure(prev, r.clock.Now(), retriable, class, lastErr)
	return dec, r.send(ctx, msg, dec)
}

func (r *retryRouter) send(ctx context.Context, msg *service.Message, dec Decision) error {
	if r.isLate(dec) {
		c := lateCopy(msg, dec)
		if err := ladderDurable(ctx, service.MessageBatch{c}); err != nil {
			return err
		}
		if err := r.late.Write(ctx, c); err != nil {
			return fmt.Errorf("late write: %w", err)
		}
	} else if dec.Route == ToDLQ {
		c := dlqCopy(msg, dec)
		if err := ladderDurable(ctx, service.MessageBatch{c}); err != nil {
			return err
		}
		if err := r.dlq.Write(ctx, c); err != nil {
			return fmt.Errorf("dlq write: %w", err)
		}
	} else if err := r.retry.Write(ctx, stageCopy(msg, dec.State, dec.Topic)); err != nil {
		return fmt.Errorf("retry write to %s: %w", dec.Topic, err)
	}
	r.countSent(dec)
	return nil
}

func (r *retryRouter) isRetriable(msg *service.Message) bool {
	// BloblangQuery rather than BloblangQueryValue: in Benthos v4.80 the
	// latter does not expose metadata, so `@error_class` would fail.
	res, err := msg.BloblangQuery(r.retriable)
	if err != nil {
		r.log.Warnf("retry_router: retriable condition failed, treating as fatal: %v", err)
		return false
	}
	if res == nil {
		r.log.Warnf("retry_router: retriable condition deleted the root; treating as fatal")
		return false
	}
	v, err := res.AsStructured()
	b, ok := v.(bool)
	if err != nil || !ok {
		r.log.Warnf("retry_router: retriable condition returned %T, not a boolean; treating as fatal", v)
	}
	return ok && b
}

func (r *retryRouter) Close(ctx context.Context) error {
	var errs []error
	for _, o := range r.children() {
		if o != nil {
			errs = append(errs, o.Close(ctx))
		}
	}
	return errors.Join(errs...)
}
