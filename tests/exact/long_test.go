//go:build exactlong

package exact

import (
	"math/rand"
	"sort"
	"testing"
	"time"
)

// The long form of the scenarios (issue 12, point 6), behind the build tag
// exactlong so that no ordinary run takes it:
//
//	go build -o bin/pipeline ./cmd/pipeline
//	PIPELINE_BIN=$PWD/bin/pipeline go test -count=1 -v -tags exactlong -run '^TestLong' -timeout 60m ./tests/exact/
//
// EXACT_INPUT selects the input as for the short form.

// TestLongKillsAndScaling produces 20 minutes of event time (2 minutes of
// wall time, ~11,000 events) while the job goes 1 -> 3 instances at 400 s
// and back to 1 (SIGTERM) at 800 s, and 20 SIGKILLs at seeded random
// points hit a random running instance, each restarted on its disk after
// a seeded random pause of up to 2 s.
func TestLongKillsAndScaling(t *testing.T) {
	o := ShortData(20)
	o.Span = 20 * time.Minute
	o.Late = 20
	e := NewEnv(t, SelectedInput(t), o)
	rng := rand.New(rand.NewSource(20))
	type step struct {
		at   time.Duration
		what string
		do   func()
	}
	var steps []step
	for _, k := range RandomKills(21, 20, 30*time.Second, o.Span-30*time.Second, 2*time.Second) {
		steps = append(steps, step{k.At, "SIGKILL", func() {
			var running []*Instance
			for _, id := range []string{"exact-0", "exact-1", "exact-2"} {
				if in := e.Instance(id); in.Running() {
					running = append(running, in)
				}
			}
			in := running[rng.Intn(len(running))]
			in.Kill()
			t.Logf("SIGKILL %s at %v of event time; restart in %v", in.ID, k.At, k.Pause)
			// The seeded pause is the scenario (Kill already waited for the exit).
			time.Sleep(k.Pause)
			in.Restart(false)
		}})
	}
	steps = append(steps,
		step{400 * time.Second, "1 -> 3", func() {
			e.StartInstance("exact-1")
			e.StartInstance("exact-2")
			t.Logf("partitions: %s", e.WaitAssigned(30*time.Second, "exact-0", "exact-1", "exact-2"))
		}},
		step{800 * time.Second, "3 -> 1", func() { e.Instance("exact-1").Stop(); e.Instance("exact-2").Stop() }},
	)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].at < steps[j].at })
	e.StartInstance("exact-0")
	p := e.Produce()
	for _, s := range steps {
		p.WaitSent(s.at)
		t.Logf("%s at %v of event time, %d events sent", s.what, s.at, p.Sent())
		s.do()
	}
	p.Wait()
	e.Verify("long-kills-1-3-1", VerifyOptions{})
}

// TestLongBacklog is the backlog scenario with 6 hours of event time over
// 96 users (~390,000 events) produced before the job starts.
func TestLongBacklog(t *testing.T) {
	o := BacklogData(22)
	o.Span = 6 * time.Hour
	o.UsersPerPartition = 16
	o.Late = 50
	e := NewEnv(t, SelectedInput(t), o)
	ProduceAll(t, e.Broker.Addr, e.Data)
	began := time.Now()
	e.StartInstance("exact-0")
	r := e.Verify("long-backlog", VerifyOptions{Deadline: 30 * time.Minute})
	t.Logf("backlog of %d events: results complete %v after the start", r.Produced, time.Since(began).Round(100*time.Millisecond))
}
