package demo

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultTopic is where the demo writes and the main job reads.
const DefaultTopic = "clickstream"

// ProducerOptions configure Run.
type ProducerOptions struct {
	Brokers string
	Topic   string
	Rate    float64 // events per second
	Users   int
	Seed    uint64
	Log     func(format string, args ...any)
	Counts  *Counts // what was written, for the demo's summary; may be nil
}

// Counts are the producer's acknowledged writes by kind.
type Counts struct {
	Sent, Malformed, Late, NoProfile atomic.Int64
}

func (c *Counts) add(r Record) {
	if c == nil {
		return
	}
	c.Sent.Add(1)
	switch {
	case r.Malformed != "":
		c.Malformed.Add(1)
	case r.Late:
		c.Late.Add(1)
	case r.NoProfile:
		c.NoProfile.Add(1)
	}
}

// Run produces events until ctx ends. Errors are logged and retried, since a
// demo that stops at the first hiccup teaches nothing.
func Run(ctx context.Context, o ProducerOptions) error {
	if o.Topic == "" {
		o.Topic = DefaultTopic
	}
	if o.Rate <= 0 {
		o.Rate = 5
	}
	if o.Users <= 0 {
		o.Users = 20
	}
	if o.Seed == 0 {
		o.Seed = uint64(time.Now().UnixNano())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(o.Brokers), kgo.DefaultProduceTopic(o.Topic), kgo.AllowAutoTopicCreation(),
		// The Kafka key is the user id and the partitioner is Kafka's Java
		// default (murmur2), so a user's events stay on one partition, which
		// keyed windows rely on when several instances share the topic.
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		return err
	}
	defer cl.Close()
	g := NewGenerator(o.Seed, o.Users)
	tick := time.NewTicker(time.Duration(float64(time.Second) / o.Rate))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			r := g.Next(now)
			cl.Produce(ctx, &kgo.Record{Key: r.Key, Value: r.Value}, func(_ *kgo.Record, err error) {
				if err == nil {
					o.Counts.add(r)
				} else if ctx.Err() == nil && o.Log != nil {
					o.Log("demo producer: write to %s failed: %v", o.Topic, err)
				}
			})
		}
	}
}
