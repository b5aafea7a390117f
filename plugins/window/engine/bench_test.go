package engine

import (
	"fmt"
	"runtime"
	"testing"
	"time"
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

func count(name string) []AggSpec {
	return []AggSpec{{Name: name, Kind: AggCount}}
}

func BenchmarkEngineTumblingCount10kKeys(b *testing.B) {
	benchEngine(b, WindowSpec{Name: "t", Kind: Tumbling, Size: dur(10), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineHopping1m10s(b *testing.B) {
	benchEngine(b, WindowSpec{Name: "h", Kind: Hopping, Size: dur(60), Slide: dur(10), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineSession(b *testing.B) {
	// 10k users, each with an event every second of event time, gap 30s.
	benchEngine(b, WindowSpec{Name: "s", Kind: Session, Gap: dur(30), KeyName: "key", Aggs: count("n")}, 10000, 100*time.Microsecond)
}

func BenchmarkEngineTumblingAllAggregates(b *testing.B) {
	aggs := []AggSpec{
		{Name: "n", Kind: AggCount}, {Name: "sum", Kind: AggSum, HasInput: true},
		{Name: "max", Kind: AggMax, HasInput: true}, {Name: "pages", Kind: AggCountDistinct, HasInput: true, Limit: 1000},
		{Name: "by_type", Kind: AggCountBy, HasInput: true, Limit: 100},
	}
	e := mustEngine(b, Config{Windows: []WindowSpec{{Name: "t", Kind: Tumbling, Size: dur(10), KeyName: "key", Aggs: aggs}}})
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
		e := mustEngine(b, Config{Windows: []WindowSpec{{Name: "t", Kind: Tumbling, Size: dur(3600), KeyName: "key", Aggs: count("n")}}})
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
