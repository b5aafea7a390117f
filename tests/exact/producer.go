package exact

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Producer writes a data set to the events topic over wall time: the
// events whose SendAt is at most Speed times the elapsed wall time, every
// Tick, each partition's in order (so event time runs Speed times faster
// than the wall clock and windows close during a run). It can be paused
// while the broker is down: a producer cannot write then either, and the
// test's producer is a tool, not under test, so it must neither lose nor
// duplicate a record across the outage. What came due meanwhile is written
// on Resume, as a burst.
type Producer struct {
	t     testing.TB
	addr  string
	ds    *Dataset
	speed float64
	tick  time.Duration

	mu     sync.Mutex
	cond   *sync.Cond
	next   int // index into ds.Events of the next event to send
	paused bool
	busy   bool // a chunk is being written
	failed bool
	cl     *kgo.Client // nil after Pause: no producer state crosses a broker restart
	start  time.Time
	done   chan struct{}
}

// ProduceAll writes the whole data set at once (a backlog) and returns when
// the broker acknowledged it.
func ProduceAll(t testing.TB, addr string, ds *Dataset) {
	t.Helper()
	cl, err := newProducerClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := write(cl, ds.Events); err != nil {
		t.Fatalf("produce the backlog of %d events: %v", len(ds.Events), err)
	}
}

// StartProducer begins writing ds over time at speed (event seconds per wall
// second), a chunk every tick.
func StartProducer(t testing.TB, addr string, ds *Dataset, speed float64, tick time.Duration) *Producer {
	p := &Producer{t: t, addr: addr, ds: ds, speed: speed, tick: tick, start: time.Now(), done: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.run()
	t.Cleanup(func() {
		p.mu.Lock()
		p.failed = true // stop writing once the test is over
		p.paused = false
		p.cond.Broadcast()
		p.mu.Unlock()
		<-p.done
	})
	return p
}

func (p *Producer) run() {
	defer close(p.done)
	defer func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cl != nil {
			p.cl.Close()
		}
	}()
	for {
		p.mu.Lock()
		for p.paused && !p.failed {
			p.cond.Wait()
		}
		if p.failed || p.next >= len(p.ds.Events) {
			p.cond.Broadcast()
			p.mu.Unlock()
			return
		}
		due := time.Duration(float64(time.Since(p.start)) * p.speed)
		end := p.next
		for end < len(p.ds.Events) && p.ds.Events[end].SendAt <= due {
			end++
		}
		chunk := p.ds.Events[p.next:end]
		var err error
		if p.cl == nil {
			p.cl, err = newProducerClient(p.addr)
		}
		cl := p.cl
		p.busy = true
		p.mu.Unlock()

		if err == nil {
			err = write(cl, chunk)
		}

		p.mu.Lock()
		p.busy = false
		if err != nil {
			p.t.Errorf("producer: writing %d events: %v", len(chunk), err)
			p.failed = true
		} else {
			p.next = end
		}
		p.cond.Broadcast()
		p.mu.Unlock()
		time.Sleep(p.tick)
	}
}

// newProducerClient is an idempotent producer (franz-go's default, with
// acks=all: no duplicates on retry) that writes each event to the partition
// it names. kafkatest.NewClient returns an error rather than failing the
// test: the producer reconnects from its own goroutine after a broker
// restart.
func newProducerClient(addr string) (*kgo.Client, error) {
	return kafkatest.NewClient(addr, kgo.DefaultProduceTopic(EventsTopic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<20))
}

// write produces events in order and waits for every acknowledgement.
func write(cl *kgo.Client, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	recs := make([]*kgo.Record, len(events))
	for i, e := range events {
		recs[i] = &kgo.Record{Key: []byte(e.User), Value: e.Value, Partition: e.Partition}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return cl.ProduceSync(ctx, recs...).FirstErr()
}

// Pause waits for the chunk being written, then stops writing.
func (p *Producer) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = true
	for p.busy {
		p.cond.Wait()
	}
	if p.cl != nil {
		p.cl.Close()
		p.cl = nil
	}
}

// Resume writes again, starting with what came due while paused.
func (p *Producer) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.paused = false
	p.cond.Broadcast()
}

// WaitSent blocks until every event with SendAt <= at was written (or the
// producer failed), so a test can act at a chosen point of event time:
// "mid-window" is a point the test picks in the data, not a wall time.
func (p *Producer) WaitSent(at time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.failed && p.next < len(p.ds.Events) && p.ds.Events[p.next].SendAt <= at {
		p.cond.Wait()
	}
}

// Wait blocks until everything was written, failing the test if the
// producer failed.
func (p *Producer) Wait() {
	p.t.Helper()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next < len(p.ds.Events) {
		p.t.Fatalf("producer stopped after %d of %d events", p.next, len(p.ds.Events))
	}
}

// Sent is the number of events written so far.
func (p *Producer) Sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.next
}
