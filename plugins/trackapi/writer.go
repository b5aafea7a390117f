package trackapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// writer owns the Kafka producer. Every request's records go through one
// franz-go client, so the records of concurrent requests leave in the same
// produce request (batching without a linger), and each record's callback
// tells its own request whether the broker took it.
//
// Why a callback error means "not written": the client is idempotent (acks
// from all in-sync replicas) and franz-go fails a record by its delivery
// timeout only when that is safe: the record was never sent, or the broker
// answered the request that carried it. A record sent without an answer yet
// (the broker went away mid-request) stays pending until the broker answers,
// so its request is told "unknown" (504), never "not written".
type writer struct {
	opts     []kgo.Opt
	topic    string
	interval time.Duration
	log      func(msg string, args ...any)

	mu     sync.RWMutex
	client *kgo.Client

	ready     atomic.Bool
	lastError atomic.Value  // string: why the broker is not ready
	changed   chan struct{} // closed and replaced when ready changes
	changedMu sync.Mutex

	probe  *kgo.Client
	stop   context.CancelFunc
	probed chan struct{}
}

func newWriter(brokers []string, topic string, deliveryTimeout, probeInterval time.Duration, log func(string, ...any)) (*writer, error) {
	w := &writer{
		topic: topic, interval: probeInterval, log: log, changed: make(chan struct{}),
		opts: []kgo.Opt{
			kgo.SeedBrokers(brokers...),
			kgo.DefaultProduceTopic(topic),
			kgo.AllowAutoTopicCreation(),
			// No linger: a record goes out at once, and the records that
			// arrive while a produce request is in flight go together in
			// the next one, so batches grow with the load by themselves.
			kgo.ProducerLinger(0),
			kgo.RecordDeliveryTimeout(deliveryTimeout),
			// murmur2 on the key, as Kafka's Java client and the demo
			// producer: a user's events share one partition.
			kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
			kgo.MaxBufferedRecords(1 << 16),
		},
	}
	w.lastError.Store("not checked yet")
	var err error
	if w.client, err = kgo.NewClient(w.opts...); err != nil {
		return nil, fmt.Errorf("kafka client for %v: %w", brokers, err)
	}
	if w.probe, err = kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequestRetries(0)); err != nil {
		w.client.Close()
		return nil, fmt.Errorf("kafka client for %v: %w", brokers, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop, w.probed = cancel, make(chan struct{})
	go w.probeLoop(ctx)
	return w, nil
}

// produce writes recs and calls done once per record with its outcome.
func (w *writer) produce(ctx context.Context, recs []*kgo.Record, done func(i int, err error)) {
	w.mu.RLock()
	cl := w.client
	w.mu.RUnlock()
	for i, r := range recs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done(i, err) })
	}
}

// isReady tells whether the broker answered the last probe with the topic.
func (w *writer) isReady() bool { return w.ready.Load() }

func (w *writer) notReadyReason() string { return w.lastError.Load().(string) }

// readyChanged is closed the next time readiness flips.
func (w *writer) readyChanged() <-chan struct{} {
	w.changedMu.Lock()
	defer w.changedMu.Unlock()
	return w.changed
}

// probeLoop asks the broker for the topic's metadata (creating it on an
// empty broker) every interval. When the broker comes back after being
// unreachable, the producer is replaced by a new client: the old one may hold
// state of a broker that no longer exists (a restarted empty broker has new
// topic ids and does not know our producer id), and franz-go can take minutes
// to give that up. The old client finishes what it holds in the background.
func (w *writer) probeLoop(ctx context.Context) {
	defer close(w.probed)
	t := time.NewTicker(w.interval)
	defer t.Stop()
	wasDown := false
	for {
		err := w.check(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			w.lastError.Store(err.Error())
			if w.ready.Load() || !wasDown {
				w.log("Kafka not ready, /track answers 503 (nothing written) until it is", "error", err.Error())
			}
			wasDown = true
			w.setReady(false)
		} else {
			if wasDown {
				w.renewClient()
				w.log("Kafka reachable again, /track writes resume", "topic", w.topic)
			}
			wasDown = false
			w.setReady(true)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *writer) setReady(v bool) {
	if w.ready.Swap(v) == v {
		return
	}
	w.changedMu.Lock()
	close(w.changed)
	w.changed = make(chan struct{})
	w.changedMu.Unlock()
}

// check is one probe: the topic must have partitions with leaders.
func (w *writer) check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.interval+time.Second)
	defer cancel()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(w.topic)
	req.Topics = append(req.Topics, t)
	req.AllowAutoTopicCreation = true
	resp, err := req.RequestWith(ctx, w.probe)
	if err != nil {
		return fmt.Errorf("broker unreachable: %w", err)
	}
	if len(resp.Topics) != 1 {
		return fmt.Errorf("metadata for %s: %d topics in the answer", w.topic, len(resp.Topics))
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		return fmt.Errorf("topic %s: %w", w.topic, err)
	}
	if len(resp.Topics[0].Partitions) == 0 {
		return fmt.Errorf("topic %s has no partitions yet", w.topic)
	}
	for _, p := range resp.Topics[0].Partitions {
		if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
			return fmt.Errorf("topic %s partition %d: %w", w.topic, p.Partition, err)
		}
	}
	return nil
}

func (w *writer) renewClient() {
	fresh, err := kgo.NewClient(w.opts...)
	if err != nil {
		w.log("new Kafka client failed, keeping the old one", "error", err.Error())
		return
	}
	w.mu.Lock()
	old := w.client
	w.client = fresh
	w.mu.Unlock()
	go drain(old)
}

// drain lets a replaced client finish its records (each one's request gets
// its real outcome), then closes it.
func drain(cl *kgo.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_ = cl.Flush(ctx)
	cl.Close()
}

// close flushes what is buffered (within ctx) and stops.
func (w *writer) close(ctx context.Context) error {
	w.stop()
	<-w.probed
	w.probe.Close()
	w.mu.Lock()
	cl := w.client
	w.mu.Unlock()
	err := cl.Flush(ctx)
	cl.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("flushing the Kafka producer: %w", err)
	}
	return nil
}
