package window

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

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
// result, as ReadBatch does. The window is filled and closed by an engine
// with the timer stopped.
func BenchmarkResultMessages(b *testing.B) {
	spec := engine.WindowSpec{Name: "user_10s", Kind: engine.Tumbling, Size: 10 * time.Second, KeyName: "user_id",
		Aggs: []engine.AggSpec{{Name: "events", Kind: engine.AggCount}}}
	ev := &engine.Event{Inputs: []engine.Input{{}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += maxResultBatch {
		b.StopTimer()
		e, err := engine.New(engine.Config{Windows: []engine.WindowSpec{spec}})
		if err != nil {
			b.Fatal(err)
		}
		for j := range maxResultBatch {
			ev.Inputs[0].Key = fmt.Appendf(ev.Inputs[0].Key[:0], "user-%06d", j)
			for k := range 3 {
				ev.Time = t0 + int64(k)
				e.Add(ev, 0)
			}
		}
		e.Flush()
		g := e.Drain()[0]
		b.StartTimer()
		_ = groupMessages(g, 0, len(g.Emissions))
	}
}
