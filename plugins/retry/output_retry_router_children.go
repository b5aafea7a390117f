package retry

import (
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/childconf"
	"github.com/streamkit/pipeline/internal/failure"
	"github.com/streamkit/pipeline/internal/meta"
)

// retryChildDefaults make a Kafka `retry` child write what the contract
// says a stage record is: to the stage topic, under the original key, with
// every header but the stashes (the retry state included).
var retryChildDefaults = map[string]any{
	"topic":    `${! @` + meta.RetryStageTopic + ` }`,
	"key":      `${! @` + meta.RetryStageKey + `.or("") }`,
	"metadata": map[string]any{"include_patterns": []string{"^[^" + meta.StashPrefix + "]"}},
}

// copartitionDefaults write a stage record to the partition its event was
// first read from (copartition).
var copartitionDefaults = map[string]any{
	"partitioner": "manual",
	"partition":   `${! @` + meta.RetryOriginalPartition + ` }`,
}

// defaultRetryChild is the `retry` child of a config that writes none: a
// Kafka output on the main output's connection with retryChildDefaults.
var defaultRetryChild = map[string]any{"redpanda": map[string]any{}}

// buildChildren completes the children (contract defaults, the main
// output's Kafka connection for children that name no brokers) and builds
// them. Each error names the child.
func (r *retryRouter) buildChildren(conf *service.ParsedConfig) error {
	mainRaw, err := conf.FieldAny(rtFieldOutput)
	if err != nil {
		return fmt.Errorf("%s: %w", rtFieldOutput, err)
	}
	conn, err := childconf.Connection(mainRaw)
	if err != nil {
		return fmt.Errorf("%s: %w", rtFieldOutput, err)
	}
	children := []struct {
		field    string
		defaults map[string]any
		dst      **service.OwnedOutput
	}{
		{rtFieldOutput, nil, &r.out},
		{rtFieldRetry, retryChildDefaults, &r.retry},
		{rtFieldLate, failure.LateDefaults, &r.late},
		{rtFieldDLQ, nil, &r.dlq},
	}
	for _, c := range children {
		if !conf.Contains(c.field) {
			continue // only late is optional
		}
		raw, err := conf.FieldAny(c.field)
		if err != nil {
			return fmt.Errorf("%s: %w", c.field, err)
		}
		if c.defaults != nil {
			if _, err := childconf.Fill(raw, c.defaults); err != nil {
				return fmt.Errorf("%s: %w", c.field, err)
			}
		}
		if c.field == rtFieldRetry && r.copartition {
			ok, err := childconf.FillAll(raw, copartitionDefaults)
			if err != nil {
				return fmt.Errorf("%s: %w", c.field, err)
			}
			if !ok {
				return fmt.Errorf("%s: %s needs a redpanda or kafka_franz retry child that sets neither partitioner nor partition", c.field, rtFieldCopartition)
			}
		}
		if _, err := childconf.Inherit(raw, conn); err != nil {
			return fmt.Errorf("%s: %w", c.field, err)
		}
		if missing, err := childconf.MissingBrokers(raw); err != nil {
			return fmt.Errorf("%s: %w", c.field, err)
		} else if len(missing) > 0 {
			return fmt.Errorf("%s: a %s output without seed_brokers, and %s has none to lend", c.field, missing[0], rtFieldOutput)
		}
		if *c.dst, err = conf.FieldOutput(c.field); err != nil {
			return fmt.Errorf("%s: %w", c.field, err)
		}
	}
	return nil
}

// children lists the built children.
func (r *retryRouter) children() []*service.OwnedOutput {
	out := []*service.OwnedOutput{r.out, r.retry, r.dlq}
	if r.late != nil {
		out = append(out, r.late)
	}
	return out
}

// isLate tells whether a decision goes to the late child.
func (r *retryRouter) isLate(dec Decision) bool {
	return r.late != nil && dec.Route == ToDLQ && dec.Class == meta.ClassLate
}

// lateCopy is the message for the `late` child: the dlq copy as it was
// read (failure.AsRead).
func lateCopy(msg *service.Message, dec Decision) *service.Message {
	c := dlqCopy(msg, dec)
	failure.AsRead(c)
	return c
}
