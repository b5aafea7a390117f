package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// RouteTopics are where the main job sends what it reads, in the order the
// summary names them.
var RouteTopics = []string{"user_stats", "clickstream-late", "clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3", "clickstream-dlq"}

// dlqClassHeader is the native dead-letter envelope's error class.
const dlqClassHeader = "dlq_error_class"

// Routes counts what reached each route topic since it was created, and the
// dead letters by error class, so the demo can say how many went where.
type Routes struct {
	adm   *kadm.Client
	cl    *kgo.Client
	start map[string]int64 // end offsets at creation: earlier runs' records

	mu      sync.Mutex
	classes map[string]int64
	done    chan struct{}
}

// WatchRoutes starts counting; Close stops it.
func WatchRoutes(ctx context.Context, brokers string) (*Routes, error) {
	adm, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		return nil, err
	}
	r := &Routes{adm: kadm.NewClient(adm), classes: map[string]int64{}, done: make(chan struct{})}
	if r.start, err = r.ends(ctx); err != nil {
		adm.Close()
		return nil, err
	}
	r.cl, err = kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics("clickstream-dlq"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	if err != nil {
		adm.Close()
		return nil, err
	}
	go r.countClasses(ctx)
	return r, nil
}

func (r *Routes) ends(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	offs, err := r.adm.ListEndOffsets(ctx, RouteTopics...)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %v: %w", RouteTopics, err)
	}
	out := map[string]int64{}
	offs.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			out[o.Topic] += o.Offset
		}
	})
	return out, nil
}

func (r *Routes) countClasses(ctx context.Context) {
	defer close(r.done)
	for {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachRecord(func(rec *kgo.Record) {
			class := "unknown"
			for _, h := range rec.Headers {
				if h.Key == dlqClassHeader {
					class = string(h.Value)
				}
			}
			r.mu.Lock()
			r.classes[class]++
			r.mu.Unlock()
		})
	}
}

// Summary is the demo's "how many went where" as log attributes: what the
// producer wrote (counts may be nil) and what reached each route since start.
func (r *Routes) Summary(ctx context.Context, counts *Counts) ([]any, error) {
	ends, err := r.ends(ctx)
	if err != nil {
		return nil, err
	}
	var kv []any
	if counts != nil {
		kv = append(kv, "sent", counts.Sent.Load(), "sent_malformed", counts.Malformed.Load(),
			"sent_late", counts.Late.Load(), "sent_no_profile", counts.NoProfile.Load())
	}
	for _, t := range RouteTopics {
		kv = append(kv, t, ends[t]-r.start[t])
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range []string{meta.ClassValidation, meta.ClassRetriesExhausted, meta.ClassProcessing, meta.ClassFatal} {
		kv = append(kv, "dlq_"+c, r.classes[c])
	}
	return kv, nil
}

// Close stops counting.
func (r *Routes) Close() {
	r.cl.Close()
	<-r.done
	r.adm.Close()
}
