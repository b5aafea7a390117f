package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/meta"
)

// Retry topics consumed with the source (field retry_topics).
//
// A retried event must come back to the instance that owns its partition:
// that instance holds the partition's windows open for it (the buffer's
// ladder hold) and counts it. So the retry topics are co-partitioned with
// the source, as Kafka Streams co-partitions a task's topics: as many
// partitions as the source topics, the retry_router writes a copy to the
// partition its event came from (`copartition: true`), and this input
// subscribes to source and retry topics in one group with the range
// balancer, which gives partition n of every topic to the same member. The
// copies of partition n are then always read where partition n's windows
// are, are revoked together with them, and their offsets are committed
// only once their fate is written (as the source's).
//
// A copy is delivered when it is due (its retry_due_ms header): the
// records of a retry partition wait here in offset order, and the
// partition's fetches are paused while a batch's worth waits, so other
// partitions keep flowing and memory stays bounded.

// checkCopartitioned verifies that every retry topic has as many
// partitions as the source topics, creating the retry topics that do not
// exist yet with that many.
func (in *input) checkCopartitioned(ctx context.Context, cl *kgo.Client) error {
	if len(in.retryTopics) == 0 {
		return nil
	}
	adm := kadm.NewClient(cl)
	all := append(append([]string(nil), in.topics...), in.retryTopics...)
	td, err := adm.ListTopics(ctx, all...)
	if err != nil {
		return fmt.Errorf("window_kafka: listing topics: %w", err)
	}
	want, from := -1, ""
	for _, t := range in.topics {
		d, ok := td[t]
		if !ok || d.Err != nil {
			return fmt.Errorf("%w: %s", errSourceMissing, t)
		}
		if want < 0 {
			want, from = len(d.Partitions), t
		} else if n := len(d.Partitions); n != want {
			return fmt.Errorf("field %s: topic %s has %d partitions and %s has %d: with retry_topics the source topics must have as many partitions as each other", fTopics, t, n, from, want)
		}
	}
	for _, t := range in.retryTopics {
		d, ok := td[t]
		if !ok || d.Err != nil {
			resp, err := adm.CreateTopic(ctx, int32(want), -1, nil, t)
			if err == nil {
				err = resp.Err
			}
			if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return fmt.Errorf("field %s: creating %s with %d partitions (as %s): %w", fRetryTopics, t, want, from, err)
			}
			if in.log != nil {
				in.log.Infof("window_kafka: created retry topic %s with %d partitions, as %s", t, want, from)
			}
			continue
		}
		if n := len(d.Partitions); n != want {
			return fmt.Errorf("field %s: topic %s has %d partitions and %s has %d: retry topics must have as many partitions as the source topics (the copy of an event goes to the partition of its event, read by the same instance)", fRetryTopics, t, n, from, want)
		}
	}
	return nil
}

// errSourceMissing: a source topic does not exist yet, so the retry
// topics' partition count is not known.
var errSourceMissing = errors.New("source topic not found")

// checkCopartitionedLater checks the retry topics once the source topics
// exist (a job may start before anything created them), every 2 s until
// the input closes. Copies written before are not lost: a copy read by an
// instance that does not own its partition goes to the dead-letter route
// as `unowned`.
func (in *input) checkCopartitionedLater(done <-chan struct{}) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		adm, err := kgo.NewClient(in.connOpts...)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = in.checkCopartitioned(ctx, adm)
		cancel()
		adm.Close()
		switch {
		case err == nil:
			return
		case errors.Is(err, errSourceMissing):
			continue
		default:
			if in.log != nil {
				in.log.Errorf("window_kafka: %v", err)
			}
			return
		}
	}
}

// isRetryTopic reports whether topic is one of the retry topics.
func (in *input) isRetryTopic(topic string) bool {
	_, ok := in.retrySet[topic]
	return ok
}

// delayed are the fetched records of one retry partition not yet due.
type delayed struct {
	t      *tracker
	recs   []*kgo.Record
	paused bool
}

// dueMs is a retry copy's due time (unix ms); 0 when it carries none.
func dueMs(r *kgo.Record) int64 {
	for _, h := range r.Headers {
		if h.Key == meta.RetryDueMs {
			n, _ := strconv.ParseInt(string(h.Value), 10, 64)
			return n
		}
	}
	return 0
}

// delayLocked queues recs of retry partition t until they are due, and
// pauses the partition's fetches while a batch's worth waits.
func (in *input) delayLocked(t *tracker, recs []*kgo.Record) {
	k := tp{t.part.Topic, t.part.ID}
	d := in.delayed[k]
	if d == nil {
		d = &delayed{t: t}
		in.delayed[k] = d
	}
	d.recs = append(d.recs, recs...)
	if len(d.recs) >= in.maxBatch && !d.paused && in.cl != nil {
		in.cl.PauseFetchPartitions(map[string][]int32{k.topic: {k.part}})
		d.paused = true
	}
}

// dueLocked moves the due prefix of each delayed retry partition to the
// pending batches (in offset order, a batch at most maxBatch records), and
// returns how long until the next record is due (0: none waits).
func (in *input) dueLocked(now time.Time) time.Duration {
	nowMs := now.UnixMilli()
	var next int64
	for k, d := range in.delayed {
		n := 0
		for n < len(d.recs) && n < in.maxBatch && dueMs(d.recs[n]) <= nowMs {
			n++
		}
		if n > 0 {
			in.pending = append(in.pending, pendingBatch{t: d.t, recs: d.recs[:n:n]})
			d.recs = d.recs[n:]
		}
		if len(d.recs) > 0 {
			if due := dueMs(d.recs[0]); next == 0 || due < next {
				next = due
			}
			continue
		}
		if d.paused && in.cl != nil {
			in.cl.ResumeFetchPartitions(map[string][]int32{k.topic: {k.part}})
		}
		delete(in.delayed, k)
	}
	if next == 0 {
		return 0
	}
	return max(time.Millisecond, time.Duration(next-nowMs)*time.Millisecond)
}

// forgetDelayedLocked drops the waiting records of partitions handed back
// (their next owner fetches them again from the committed offset) and
// resumes their fetches, so a later assignment is not left paused.
func (in *input) forgetDelayedLocked(k tp) {
	d := in.delayed[k]
	if d == nil {
		return
	}
	if d.paused && in.cl != nil {
		in.cl.ResumeFetchPartitions(map[string][]int32{k.topic: {k.part}})
	}
	delete(in.delayed, k)
}

// asRetried makes the messages of a retry batch name the partition their
// event came from (kafka_topic, kafka_partition: the buffer counts a copy in
// that partition's windows) and its offset only as retry_original_offset.
func asRetried(batch service.MessageBatch) {
	for _, m := range batch {
		if topic, ok := m.MetaGetMut(meta.RetryOriginalTopic); ok {
			m.MetaSetMut(meta.KafkaTopic, topic)
		}
		if part, ok := m.MetaGetMut(meta.RetryOriginalPartition); ok {
			m.MetaSetMut(meta.KafkaPartition, part)
		}
		m.MetaDelete(meta.KafkaOffset)
	}
}
