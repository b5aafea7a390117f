package engine

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// emitted collects final emissions by window name and id, as bytes.
type emitted map[string]string

func (m emitted) take(t *testing.T, e *Engine, what string) {
	t.Helper()
	for _, g := range e.Drain() {
		if g.Final {
			for i, em := range g.Emissions {
				id := g.Window + "|" + em.ID()
				if _, dup := m[id]; dup {
					t.Fatalf("%s: window %s emitted twice", what, id)
				}
				m[id] = string(g.Body(i))
			}
		}
		g.Release(nil)
	}
}

// A run interrupted at a random event, its snapshot encoded and restored
// into a new engine that reads the rest, emits every window exactly as the
// uninterrupted run does, byte for byte, and judges the same events late:
// over tumbling, hopping and session windows, disorder, lateness, and a
// failed event held on the retry ladder whose copy comes back after the
// snapshot (an amendment) with ties in event time that only its arrival
// number orders.
func TestPropertySnapshotRestoreContinuesExactly(t *testing.T) {
	for seed := int64(0); seed < 400; seed++ {
		r := rand.New(rand.NewSource(seed))
		cfg := modelConfig(r)
		for i := range cfg.Windows {
			cfg.Windows[i].Aggs = append(append([]AggSpec(nil), propAggs...), AggSpec{Name: "pages_seen", Kind: AggCollect, HasInput: true, Limit: 3})
		}
		evs := genEvents(r, 120, sec(float64(r.Intn(6))))
		events := make([]*Event, len(evs))
		for i, p := range evs {
			ev := p.event()
			ev.Partition = 0
			ev.Inputs[0].Values = append(ev.Inputs[0].Values, strVal(p.page))
			for range cfg.Windows[1:] {
				ev.Inputs = append(ev.Inputs, ev.Inputs[0])
			}
			events[i] = ev
		}
		k := 1 + r.Intn(len(events)-1) // the snapshot is taken before events[k]
		failed, back := -1, -1         // events[failed] climbs the ladder, its copy comes back before events[back]
		if r.Intn(2) == 0 {
			failed, back = r.Intn(k), k+r.Intn(len(events)-k)
		}
		what := fmt.Sprintf("seed %d (%d windows, snapshot before event %d, failed %d back at %d)", seed, len(cfg.Windows), k, failed, back)

		// run feeds events[from:to] into e; late records which were late.
		var judge int64
		run := func(e *Engine, from, to int, late []bool, got emitted, snap *Snapshot) {
			for i := from; i < to; i++ {
				if i == back {
					o := e.AddJudged(events[failed], 0, judge)
					e.Hold(math.MaxInt64)
					if snap != nil {
						snap.Amend(events[failed], judge, o.Seq)
					}
					got.take(t, e, what)
				}
				if i == failed {
					e.Observe(events[i], 0)
					judge = e.Watermark()
					e.Hold(judge)
					got.take(t, e, what)
					continue
				}
				late[i] = len(e.Add(events[i], 0).Late) > 0
				got.take(t, e, what)
			}
		}

		whole := mustEngine(t, cfg)
		wantLate, want := make([]bool, len(events)), emitted{}
		run(whole, 0, len(events), wantLate, want, nil)
		whole.Flush()
		want.take(t, whole, what)

		first := mustEngine(t, cfg)
		gotLate, got := make([]bool, len(events)), emitted{}
		run(first, 0, k, gotLate, got, nil)
		snap := first.Snapshot()
		open := first.Open()
		// The first owner goes on (taking the copy's amendment) until it
		// is replaced; nothing it emits after the snapshot counts.
		run(first, k, len(events), make([]bool, len(events)), emitted{}, snap)
		data, err := snap.Encode()
		if err != nil {
			t.Fatal(err)
		}
		second := mustEngine(t, cfg)
		if err := second.Restore(data); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if failed < 0 && second.Open() != open {
			t.Fatalf("%s: %d states open after the restore, %d when the snapshot was taken", what, second.Open(), open)
		}
		second.Resume(second.Watermark()) // as a new owner does: closes what the held watermark passed
		got.take(t, second, what)
		back = -1 // the restored engine has the copy from the amendment
		run(second, k, len(events), gotLate, got, nil)
		second.Flush()
		got.take(t, second, what)

		for i := range events {
			if i != failed && gotLate[i] != wantLate[i] {
				t.Fatalf("%s: event %d late=%v after the restore, %v uninterrupted", what, i, gotLate[i], wantLate[i])
			}
		}
		for id, body := range want {
			if got[id] != body {
				t.Fatalf("%s: window %s\n got %s\nwant %s", what, id, got[id], body)
			}
		}
		if len(got) != len(want) {
			var extra []string
			for id := range got {
				if _, ok := want[id]; !ok {
					extra = append(extra, id)
				}
			}
			t.Fatalf("%s: %d windows, want %d; extra: %s", what, len(got), len(want), strings.Join(extra, " "))
		}
	}
}

// A snapshot of other windows, or of another version, is refused with an
// error naming the difference: restoring it would compute other results.
func TestSnapshotRestoreRefusesAnotherJob(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10)}, 0)
	e := mustEngine(t, cfg)
	e.Add(mkEvent("a", at(1), 0), 0)
	data, err := e.Snapshot().Encode()
	if err != nil {
		t.Fatal(err)
	}
	other := countCfg(WindowSpec{Name: "other", Kind: Tumbling, Size: dur(10)}, 0)
	if err := mustEngine(t, other).Restore(data); err == nil || !strings.Contains(err.Error(), "[w]") || !strings.Contains(err.Error(), "[other]") {
		t.Fatalf("Restore into another job: %v; want an error naming both window lists", err)
	}
	if err := mustEngine(t, cfg).Restore(data[:len(data)/2]); err == nil {
		t.Fatal("Restore of a truncated snapshot succeeded")
	}
	used := mustEngine(t, cfg)
	used.Add(mkEvent("b", at(2), 0), 0)
	if err := used.Restore(data); err == nil {
		t.Fatal("Restore into an engine with state succeeded")
	}
}

// Events replayed after a restore get the arrival numbers they had in the
// run that took the snapshot, around an amendment's: with every event at
// the same instant, only those numbers order first and last.
func TestSnapshotRestoreKeepsArrivalOrderAroundAnAmendment(t *testing.T) {
	cfg := countCfg(WindowSpec{Kind: Tumbling, Size: dur(10), Aggs: []AggSpec{
		{Name: "first", Kind: AggFirst, HasInput: true}, {Name: "last", Kind: AggLast, HasInput: true},
	}}, 0)
	ev := func(v float64) *Event { return mkEvent("k", at(1), 0, numVal(v), numVal(v)) }
	run := func(e *Engine, snap **Snapshot, restoreAfter bool) string {
		got := emitted{}
		if !restoreAfter {
			e.Add(ev(0), 0)
			e.Observe(ev(1), 0) // event 1 fails and climbs the ladder
			judge := e.Watermark()
			*snap = e.Snapshot()
			e.Add(ev(2), 0)
			o := e.AddJudged(ev(1), 0, judge) // its copy comes back
			(*snap).Amend(ev(1), judge, o.Seq)
		} else {
			e.Add(ev(2), 0)
		}
		e.Add(ev(3), 0)
		e.Flush()
		got.take(t, e, "run")
		for _, b := range got {
			return b
		}
		return ""
	}
	var snap *Snapshot
	want := run(mustEngine(t, cfg), &snap, false)
	data, err := snap.Encode()
	if err != nil {
		t.Fatal(err)
	}
	restored := mustEngine(t, cfg)
	if err := restored.Restore(data); err != nil {
		t.Fatal(err)
	}
	if got := run(restored, nil, true); got != want || !strings.Contains(want, `"last":3`) {
		t.Fatalf("restored run emitted %s, the run that took the snapshot %s (want last 3)", got, want)
	}
}

// BenchmarkSnapshot100kSessions: a partition's snapshot of 100k open
// sessions (a count and a count_distinct each): capture (under the
// buffer's lock), encode (in the background) and restore (a new owner).
func BenchmarkSnapshot100kSessions(b *testing.B) {
	aggs := []AggSpec{{Name: "n", Kind: AggCount}, {Name: "pages", Kind: AggCountDistinct, HasInput: true, Limit: 100}}
	cfg := Config{Windows: []WindowSpec{{Name: "s", Kind: Session, Gap: dur(1800), KeyName: "key", Aggs: aggs}}}
	e := mustEngine(b, cfg)
	keys := benchKeys(100000)
	pages := []Value{strVal("/a"), strVal("/b"), strVal("/c")}
	for i := range 300000 {
		e.Add(&Event{Time: at(float64(i) / 1000), Inputs: []Input{{Key: keys[i%len(keys)], Values: []Value{{}, pages[i%3]}}}}, 0)
	}
	var capture, encode, restore time.Duration
	var size int
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		s := e.Snapshot()
		capture += time.Since(t)
		t = time.Now()
		data, err := s.Encode()
		if err != nil {
			b.Fatal(err)
		}
		encode += time.Since(t)
		size = len(data)
		r := mustEngine(b, cfg)
		t = time.Now()
		if err := r.Restore(data); err != nil {
			b.Fatal(err)
		}
		restore += time.Since(t)
	}
	n := float64(b.N)
	b.ReportMetric(capture.Seconds()*1000/n, "capture-ms")
	b.ReportMetric(encode.Seconds()*1000/n, "encode-ms")
	b.ReportMetric(restore.Seconds()*1000/n, "restore-ms")
	b.ReportMetric(float64(size)/100000, "bytes/session")
}
