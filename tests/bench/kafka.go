package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startBroker runs `pipeline broker --in-memory` (kfake, project topics
// with 3 partitions) as its own process.
func (b *bench) startBroker() (*child, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	c, err := startChild(b.root, nil, b.bin, "broker", "--broker-port", strconv.Itoa(port), "--in-memory")
	if err != nil {
		return nil, "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				md, err := kadm.NewClient(cl).ListTopics(ctx, "clickstream", "user_stats")
				cancel()
				cl.Close()
				if err == nil && md.Has("clickstream") && md.Has("user_stats") {
					return c, addr, nil
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.stop(time.Second)
	return nil, "", fmt.Errorf("broker did not come up on %s:\n%s", addr, tail(c.out.String()))
}

// produceFile writes every line of path to topic, keyed by user_id (so a
// user's events share a partition, as the seeds' producer does).
func produceFile(addr, topic, path string) (int, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(1<<18),
		kgo.ProducerBatchMaxBytes(900<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	var firstErr error
	errc := make(chan error, 1)
	for sc.Scan() {
		v := bytes.Clone(sc.Bytes())
		cl.Produce(ctx, &kgo.Record{Key: userOf(v), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
		n++
	}
	if err := cl.Flush(ctx); err != nil {
		return n, err
	}
	select {
	case firstErr = <-errc:
	default:
	}
	if firstErr == nil {
		firstErr = sc.Err()
	}
	return n, firstErr
}

var userKey = []byte(`"user_id":"`)

func userOf(v []byte) []byte {
	i := bytes.Index(v, userKey)
	if i < 0 {
		return nil
	}
	v = v[i+len(userKey):]
	if j := bytes.IndexByte(v, '"'); j >= 0 {
		return v[:j]
	}
	return nil
}

// tailConsumer reads topic from its current end (offsets taken before the
// run starts) and calls done on each record's value until it returns true.
type tailConsumer struct {
	cl *kgo.Client
}

func newTailConsumer(addr, topic string) (*tailConsumer, error) {
	adm, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(adm).ListEndOffsets(ctx, topic)
	adm.Close()
	if err != nil {
		return nil, err
	}
	parts := map[int32]kgo.Offset{}
	ends.Each(func(o kadm.ListedOffset) { parts[o.Partition] = kgo.NewOffset().At(o.Offset) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: parts}),
		kgo.FetchMaxWait(50*time.Millisecond), kgo.FetchMaxBytes(64<<20))
	if err != nil {
		return nil, err
	}
	return &tailConsumer{cl: cl}, nil
}

// run polls until done returns true, the deadline passes, the pipeline
// exits or, once results flow, none arrive for quiet (a stalled or wrong
// run must not hold the benchmark for the whole deadline). It returns the
// time the last record was received.
func (t *tailConsumer) run(deadline, quiet time.Duration, exited <-chan struct{}, done func(v []byte) bool) (time.Time, error) {
	defer t.cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	var last time.Time
	for {
		select {
		case <-exited:
			return last, fmt.Errorf("the pipeline exited")
		default:
		}
		if ctx.Err() != nil {
			return last, fmt.Errorf("deadline %v passed", deadline)
		}
		if !last.IsZero() && time.Since(last) > quiet {
			return last, fmt.Errorf("no result for %v", quiet)
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := t.cl.PollFetches(pctx)
		pcancel()
		finished, got := false, false
		fs.EachRecord(func(r *kgo.Record) {
			got = true
			if !finished && done(r.Value) {
				finished = true
			}
		})
		if got {
			last = time.Now()
		}
		if finished {
			return last, nil
		}
	}
}

var eventsKey = []byte(`"events":`)

// eventsOf extracts the top-level "events" count of a window result without
// a full decode (the driver shares the 2 cores with the pipeline).
func eventsOf(v []byte) (int, bool) {
	i := bytes.Index(v, eventsKey)
	if i < 0 {
		return 0, false
	}
	v = v[i+len(eventsKey):]
	n, j := 0, 0
	for j < len(v) && v[j] >= '0' && v[j] <= '9' {
		n = n*10 + int(v[j]-'0')
		j++
	}
	return n, j > 0
}
