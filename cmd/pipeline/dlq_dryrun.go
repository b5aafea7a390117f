package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/eventtime"
	"github.com/streamkit/pipeline/plugins/dlq"
)

// dryRunRecord is one dead letter as `dlq replay --dry-run` reports it:
// where it is, and what a replay would do with it.
type dryRunRecord struct {
	Partition   int32  `json:"partition"`
	Offset      int64  `json:"offset"`
	Key         string `json:"key"`
	Outcome     string `json:"outcome"`          // "replay" or "refused"
	To          string `json:"to,omitempty"`     // destination topic of a replay
	Class       string `json:"class,omitempty"`  // the envelope's error class
	Error       string `json:"error,omitempty"`  // the envelope's error
	Reason      string `json:"reason,omitempty"` // why a record is refused
	ReplayCount int64  `json:"replay_count,omitempty"`
	Value       string `json:"value"` // the first 200 bytes
}

// dryRun reads the DLQ topic to its current end and decides each record with
// the same Replayer as the replay stream, writing nothing: the decisions,
// record by record, are the output.
func dryRun(ctx context.Context, o dlqOptions) (replayStats, error) {
	st := replayStats{DryRun: true, Records: []dryRunRecord{}}
	if o.Topic == "" {
		return st, fmt.Errorf("a DLQ topic is required (--topic)")
	}
	if o.Brokers == "" {
		o.Brokers = "localhost:9092"
	}
	rp, err := replayerFrom(o)
	if err != nil {
		return st, err
	}
	ends, err := endOffsets(ctx, o.Brokers, o.Topic)
	if err != nil {
		return st, err
	}
	left := map[int32]int64{}
	for p, end := range ends {
		if end > 0 {
			left[int32(p)] = end
		}
	}
	if len(left) == 0 {
		return st, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(o.Brokers, ",")...), kgo.ConsumeTopics(o.Topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return st, err
	}
	defer cl.Close()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return st, fmt.Errorf("reading %s: %w", o.Topic, err)
		}
		for _, fe := range fs.Errors() {
			return st, fmt.Errorf("reading %s partition %d: %w", fe.Topic, fe.Partition, fe.Err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if end, ok := left[r.Partition]; !ok || r.Offset >= end {
				return // written after the run started
			}
			if r.Offset+1 >= left[r.Partition] {
				delete(left, r.Partition)
			}
			st.add(rp.Decide(recordFromKafka(r)), r)
		})
	}
	return st, nil
}

func (st *replayStats) add(d dlq.Decision, r *kgo.Record) {
	out := dryRunRecord{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Class: d.Envelope.Class,
		Error: d.Envelope.Error, ReplayCount: d.Count, Value: clipValue(r.Value)}
	switch d.Outcome {
	case dlq.Skip:
		st.Skipped++
		return
	case dlq.Refused:
		st.Refused++
		out.Outcome, out.Reason = "refused", d.Err.Error()
	default:
		st.Replayed++
		out.Outcome, out.To = "replay", d.Topic
	}
	st.Records = append(st.Records, out)
}

func recordFromKafka(r *kgo.Record) dlq.Record {
	rec := dlq.Record{Key: r.Key, Value: r.Value, TimestampMs: r.Timestamp.UnixMilli()}
	for _, h := range r.Headers {
		rec.Headers = append(rec.Headers, dlq.Header{Key: h.Key, Value: h.Value})
	}
	return rec
}

// replayerFrom builds the replay stream's Replayer from the CLI options.
func replayerFrom(o dlqOptions) (dlq.Replayer, error) {
	r := dlq.Replayer{To: o.To, MaxReplays: o.MaxReplays}
	if r.MaxReplays <= 0 {
		r.MaxReplays = 3
	}
	for _, c := range strings.Split(o.Class, ",") {
		if c = strings.TrimSpace(c); c != "" {
			r.Classes = append(r.Classes, c)
		}
	}
	r.ErrorContains = strings.TrimSpace(o.ErrorContains)
	for name, v := range map[string]struct {
		s   string
		dst *time.Time
	}{"--since": {o.Since, &r.Since}, "--until": {o.Until, &r.Until}} {
		if s := strings.TrimSpace(v.s); s != "" {
			t, err := eventtime.ParseString(s)
			if err != nil {
				return r, fmt.Errorf("%s: %w", name, err)
			}
			*v.dst = t
		}
	}
	if k := strings.TrimSpace(o.Key); k != "" {
		r.Key = []byte(k)
	}
	return r, nil
}

func clipValue(v []byte) string {
	const n = 200
	if len(v) > n {
		return string(v[:n]) + "…"
	}
	return string(v)
}
