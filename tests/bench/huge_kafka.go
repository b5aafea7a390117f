package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"
)

// D-huge: the memory check through the broker. n events over keys users,
// all in one 10 s window, are produced to the topic; the main job's input
// (window_kafka with clickstream.yaml's settings) feeds the window buffer
// without a write-ahead log (window_kafka never uses one), and the results
// go to user_stats through the main job's output. Nothing closes before
// the input is drained, so every key's state is open at once: the peak RSS
// is what a window over a large key space costs with this input.

// hugeEventTime is every huge event's time: one 10 s window holds them all.
var hugeEventTime = time.Date(2024, 6, 27, 15, 0, 5, 0, time.UTC)

// hugeRef is the expected result of a huge run: every key counts n/keys
// events in the window starting at hugeEventTime's 10 s boundary.
func hugeRef(n, keys int) map[wkey]int32 {
	want := map[wkey]int32{}
	ws := floorDiv(hugeEventTime.Unix(), 10) * 10
	for k := 0; k < keys; k++ {
		want[wkey{fmt.Sprintf("user-%d", k), ws}] = int32(n / keys)
	}
	return want
}

// produceHuge writes n events, event i for user i%keys, keyed by user (as
// produceFile keys the data set), with the bodies cfgHuge's generator makes.
func produceHuge(addr, topic string, n, keys int) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(1<<18),
		kgo.ProducerBatchMaxBytes(900<<10), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	ts := hugeEventTime.Format(tsLayout)
	for i := 0; i < n; i++ {
		user := "user-" + strconv.Itoa(i%keys)
		v := fmt.Appendf(nil, `{"user_id":%q,"event_type":"click","timestamp":%q}`, user, ts)
		cl.Produce(ctx, &kgo.Record{Key: []byte(user), Value: v}, func(_ *kgo.Record, err error) {
			if err != nil {
				select {
				case errc <- err:
				default:
				}
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// cfgDHuge is D0's derivation of the main job (window_kafka input and
// user_stats output, see cfgD) with the huge run's window: a 10 s tumbling
// count per user, as A-huge has.
func cfgDHuge(root, broker, group string) (string, error) {
	pass, err := cfgD(root, broker, group, true, "")
	if err != nil {
		return "", err
	}
	var d, buf map[string]any
	if err := yaml.Unmarshal([]byte(pass), &d); err != nil {
		return "", err
	}
	if err := yaml.Unmarshal([]byte(windowBuffer(tumbling10s, "")), &buf); err != nil {
		return "", err
	}
	d["buffer"] = buf["buffer"]
	b, err := yaml.Marshal(d)
	return string(b), err
}

// hugeKafka runs D-huge on a broker of its own (10M records would otherwise
// stay in the broker that D, D0 and F share).
func (b *bench) hugeKafka(n, keys int) *row {
	r := &row{id: "D-huge", what: fmt.Sprintf("broker → window_kafka → window buffer, no log: %.1fM events, %dk keys, one 10 s window → user_stats", float64(n)/1e6, keys/1000)}
	bc, addr, err := b.startBroker()
	if err != nil {
		r.err = err
		return r
	}
	defer bc.stop(10 * time.Second)
	logf("broker %s: producing %d events over %d keys to clickstream", addr, n, keys)
	t0 := time.Now()
	if err := produceHuge(addr, "clickstream", n, keys); err != nil {
		r.err = fmt.Errorf("produce: %v", err)
		return r
	}
	logf("produced in %v", time.Since(t0).Round(time.Millisecond))
	want := hugeRef(n, keys)
	for i := 0; i < b.runs; i++ {
		res, err := b.runDHuge(addr, fmt.Sprintf("bench-dhuge-%d-%d", time.Now().UnixNano(), i), n, want)
		if err != nil {
			r.err = err
			break
		}
		logf("D-huge run %d: %.0f events/s, %.1f CPU s, peak RSS %d MB, %s", i+1, res.eps(), res.cpu.Seconds(), res.rssKB/1024, orIdentical(res.check))
		r.runs = append(r.runs, res)
	}
	r.note = "target: peak RSS < 200 MB; rate = events / (wall − 1 s idle close), wall until the last result is consumed"
	return r
}

func (b *bench) runDHuge(addr, group string, n int, want map[wkey]int32) (runRes, error) {
	cfg, err := cfgDHuge(b.root, addr, group)
	if err != nil {
		return runRes{}, err
	}
	path := b.tmp("cfg-dhuge") + ".yaml"
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return runRes{}, err
	}
	tc, err := newTailConsumer(addr, "user_stats")
	if err != nil {
		return runRes{}, err
	}
	var vals [][]byte
	sum := 0
	done := func(v []byte) bool {
		vals = append(vals, v)
		ev, _ := eventsOf(v)
		sum += ev
		return sum >= n
	}
	c, err := startChild(b.root, nil, b.bin, "-c", path)
	if err != nil {
		return runRes{}, err
	}
	killed := make(chan string, 1)
	if b.rssLimitKB > 0 {
		go watchRSS(c, b.rssLimitKB, killed)
	}
	end, err := tc.run(15*time.Minute, 30*time.Second, c.done, done)
	c.stop(20 * time.Second)
	select {
	case msg := <-killed:
		return runRes{}, fmt.Errorf("%s: %s", group, msg)
	default:
	}
	if err != nil {
		return runRes{}, fmt.Errorf("%s: %v (%d results, %d of %d events); pipeline output:\n%s", group, err, len(vals), sum, n, tail(c.out.String()))
	}
	col := newCollector()
	for _, v := range vals {
		col.add(v)
	}
	window := "user_10s"
	if _, ok := col.maps[window]; !ok && len(col.maps) == 1 {
		for name := range col.maps {
			window = name
		}
	}
	return runRes{wall: end.Sub(c.start), wait: time.Second, cpu: cpuOf(c), rssKB: c.rssKB, events: n,
		check: col.check(window, want, false)}, nil
}

func orIdentical(check string) string {
	if check == "" {
		return "identical"
	}
	return check
}
