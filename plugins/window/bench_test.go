package window

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func benchKeys(n int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = []byte(fmt.Sprintf("user-%06d", i))
	}
	return keys
}

// benchEngine feeds b.N events, one every step of event time, cycling over
// keys, and releases emissions as they appear (as an acking output would).
func benchEngine(b *testing.B, w WindowSpec, nkeys int, step time.Duration) {
	e := mustEngine(b, Config{Windows: []WindowSpec{w}})
	keys := benchKeys(nkeys)
	ev := &Event{Inputs: []Input{{}}}
	ref := NewAck(nil)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ev.Time = t0 + int64(i)*int64(step)
		ev.Inputs[0].Key = keys[i%nkeys]
		ev.Ref = ref
		e.Add(ev, 0)
		if i%4096 == 0 {
			for _, g := range e.Drain() {
				g.Release(nil)
			}
		}
	}
	e.Flush()
	for _, g := range e.Drain() {
		g.Release(nil)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

func count(name string) []AggSpec { return []AggSpec{{Name: name, Kind: AggCount}} }

func BenchmarkEngineTumblingCount10kKeys(b *testing.B) {
	benchEngine(b, WindowSpec{Name: "t", Kind: Tumbling, Size: sec(10), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineHopping1m10s(b *testing.B) {
	benchEngine(b, WindowSpec{Name: "h", Kind: Hopping, Size: sec(60), Slide: sec(10), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineSession(b *testing.B) {
	// 10k users, each with an event every second of event time, gap 30s.
	benchEngine(b, WindowSpec{Name: "s", Kind: Session, Gap: sec(30), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineTumblingAllAggregates(b *testing.B) {
	aggs := []AggSpec{
		{Name: "n", Kind: AggCount}, {Name: "sum", Kind: AggSum, HasInput: true},
		{Name: "max", Kind: AggMax, HasInput: true}, {Name: "pages", Kind: AggCountDistinct, HasInput: true, Limit: 1000},
		{Name: "by_type", Kind: AggCountBy, HasInput: true, Limit: 100},
	}
	e := mustEngine(b, Config{Windows: []WindowSpec{{Name: "t", Kind: Tumbling, Size: sec(10), KeyName: "key", Aggs: aggs}}})
	keys := benchKeys(10000)
	pages := []Value{strVal("/a"), strVal("/b"), strVal("/c")}
	types := []Value{strVal("view"), strVal("click")}
	n := numVal(3)
	ev := &Event{Inputs: []Input{{Values: make([]Value, 5)}}}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		ev.Time = t0 + int64(i)*int64(100*time.Microsecond)
		ev.Inputs[0].Key = keys[i%len(keys)]
		v := ev.Inputs[0].Values
		v[0], v[1], v[2], v[3], v[4] = n, n, n, pages[i%3], types[i%2]
		e.Add(ev, 0)
		if i%4096 == 0 {
			for _, g := range e.Drain() {
				g.Release(nil)
			}
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkMemoryPerOpenWindowKey reports heap bytes per open (window, key)
// state for a count aggregate.
func BenchmarkMemoryPerOpenWindowKey(b *testing.B) {
	const n = 100000
	keys := benchKeys(n)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := mustEngine(b, Config{Windows: []WindowSpec{{Name: "t", Kind: Tumbling, Size: sec(3600), KeyName: "key", Aggs: count("n")}}})
		for j, k := range keys {
			e.Add(&Event{Time: t0 + int64(j), Inputs: []Input{{Key: k}}}, 0)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if e.Open() != n {
			b.Fatal("open", e.Open())
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/window-key")
		runtime.KeepAlive(e)
	}
}

// BenchmarkBufferFastPath measures the whole adapter (extraction with
// timestamp_field/key_field, engine, emission) per message.
func BenchmarkBufferFastPath(b *testing.B) { benchBuffer(b, "") }

// BenchmarkBufferFastPathWAL adds the write-ahead log: metadata rendering,
// encoding, one write and fsync per batch of 100, the redelivery check.
func BenchmarkBufferFastPathWAL(b *testing.B) {
	benchBuffer(b, "wal: { dir: "+fmt.Sprintf("%q", b.TempDir())+" }\n")
}

func benchBuffer(b *testing.B, extra string) {
	conf, err := bufferSpec().ParseYAML(`
timestamp_field: timestamp
windows:
  - name: w
    size: 10s
    key_field: user_id
    aggregates:
      - { name: n, type: count }
      - { name: by_type, type: count_by, field: event_type }
`+extra, nil)
	if err != nil {
		b.Fatal(err)
	}
	o, err := parseOptions(conf)
	if err != nil {
		b.Fatal(err)
	}
	buf, err := newBuffer(o, nil, time.Now, false)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, ack, err := buf.ReadBatch(context.Background())
			if err != nil {
				return
			}
			_ = ack(context.Background(), nil)
		}
	}()
	const batchSize = 100
	docs := make([][]byte, 1000)
	for i := range docs {
		ts := time.Unix(0, t0+int64(i)*int64(10*time.Millisecond)).UTC().Format("2006-01-02T15:04:05.000000")
		docs[i] = fmt.Appendf(nil, `{"user_id":"user-%04d","event_type":"view","page":"/p/%d","timestamp":"%s","session_id":"abc"}`, i%500, i%7, ts)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += batchSize {
		batch := make(service.MessageBatch, batchSize)
		for j := range batch {
			// Event time keeps moving so windows close and acks flow.
			k := (i + j) % len(docs)
			batch[j] = service.NewMessage(docs[k])
			// What the redpanda input sets (the log keeps it and reads the
			// position from it).
			batch[j].MetaSetMut("kafka_topic", "clickstream")
			batch[j].MetaSetMut("kafka_partition", int32(0))
			batch[j].MetaSetMut("kafka_offset", int64(i+j))
			batch[j].MetaSetMut("kafka_key", "user")
			batch[j].MetaSetMut("kafka_timestamp_ms", int64(1719500000000))
		}
		if err := buf.WriteBatch(context.Background(), batch, func(context.Context, error) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.StopTimer()
	buf.EndOfInput()
	<-done
	_ = buf.Close(context.Background())
}

// BenchmarkResultMessages: building result messages (body, eight metadata
// keys) from a closed tumbling window's lazily rendered emissions, per
// result, as ReadBatch does.
func BenchmarkResultMessages(b *testing.B) {
	spec := &WindowSpec{Name: "user_10s", Kind: Tumbling, Size: sec(10), KeyName: "user_id", Aggs: count("events")}
	keys := benchKeys(maxResultBatch)
	g := &Group{Window: spec.Name, Type: spec.Kind.String(), Final: true, spec: spec, Emissions: make([]Emission, len(keys))}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += len(keys) {
		for j, k := range keys {
			st := newState(0)
			st.events = 3
			g.Emissions[j] = Emission{Key: string(k), Start: t0, End: t0 + sec(10), Events: 3, st: st}
		}
		_ = groupMessages(g, 0, len(keys))
	}
}
