package exact

import (
	"math/rand"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The scenario tests of issue 12, point 2. Each runs the short data set
// (ShortData: ~1,900 events over 200 s of event time, produced in 20 s of
// wall time) and disrupts the job at points of event time chosen in the
// data: 105 s is the middle of the 10 s window [100 s, 110 s) and of many
// users' sessions. All must end with results equal to the reference.

// TestSigtermMidWindow stops the only instance gracefully in the middle of
// a window (SIGTERM at 105 s, then SIGINT at 155 s) and starts it again on
// the same disk: nothing half-full may be emitted on the way out (no
// record may differ from the expected one) and the next start completes the
// windows.
func TestSigtermMidWindow(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(2))
	in := e.StartInstance("exact-0")
	p := e.Produce()
	for _, stop := range []struct {
		at  time.Duration
		sig syscall.Signal
	}{{105 * time.Second, syscall.SIGTERM}, {155 * time.Second, syscall.SIGINT}} {
		p.WaitSent(stop.at)
		in.Signal(stop.sig, 60*time.Second)
		t.Logf("%v at %v of event time, %d events sent; restarting", stop.sig, stop.at, p.Sent())
		in.Restart(false)
	}
	p.Wait()
	e.Verify("sigterm", VerifyOptions{})
}

// TestSigkillAtRandomMoments kills the only instance (SIGKILL) at three
// seeded random points of the run and restarts it each time on the same
// disk after a seeded random pause of up to 1.5 s.
func TestSigkillAtRandomMoments(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(3))
	kills := RandomKills(3, 3, 25*time.Second, 175*time.Second, 1500*time.Millisecond)
	in := e.StartInstance("exact-0")
	p := e.Produce()
	for _, k := range kills {
		p.WaitSent(k.At)
		in.Kill()
		t.Logf("SIGKILL at %v of event time, %d events sent; restarting in %v", k.At, p.Sent(), k.Pause)
		// The seeded pause is the scenario (Kill already waited for the exit).
		time.Sleep(k.Pause)
		in.Restart(false)
	}
	p.Wait()
	e.Verify("sigkill", VerifyOptions{})
}

// Kill is one disruption point: at this much event time into the data,
// then a pause of wall time before the restart.
type Kill struct {
	At, Pause time.Duration
}

// RandomKills draws n kill points in [from, to) of event time, in order,
// and pauses below maxPause, from seed.
func RandomKills(seed int64, n int, from, to, maxPause time.Duration) []Kill {
	rng := rand.New(rand.NewSource(seed))
	ks := make([]Kill, n)
	for i := range ks {
		ks[i] = Kill{At: from + time.Duration(rng.Int63n(int64(to-from))), Pause: time.Duration(rng.Int63n(int64(maxPause)))}
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].At < ks[j].At })
	return ks
}

// TestEmptyDiskRestart kills the instance mid-window and starts it with the
// same INSTANCE_ID on a new, empty working directory and TMPDIR, as a pod
// rescheduled to another node: no correctness may depend on local disk.
//
// With window_kafka the kill comes at 150 s, once every partition's commit
// names a snapshot of its open windows and lies past the first event of
// sessions open for 40 s or more (requireSnapshotCommits): the restarted
// instance must restore those snapshots from Kafka, not replay the sessions.
func TestEmptyDiskRestart(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(6))
	in := e.StartInstance("exact-0")
	p := e.Produce()
	at := 105 * time.Second
	if e.Input == WindowKafka {
		at = 150 * time.Second
	}
	p.WaitSent(at)
	if e.Input == WindowKafka {
		requireSnapshotCommits(t, e, p)
	}
	in.Kill()
	t.Logf("SIGKILL at %v of event time, %d events sent; restarting on an empty disk", at, p.Sent())
	in.Restart(true)
	p.Wait()
	e.Verify("empty-disk", VerifyOptions{})
	if e.Input == WindowKafka && !strings.Contains(in.Output(), "restored the state of offsets below") {
		t.Fatalf("the restarted instance restored no snapshot; its log:\n%s", tail(in.Output(), 40))
	}
}
