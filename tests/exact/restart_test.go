package exact

import (
	"fmt"
	"math/rand"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// The scenario tests of issue 12, point 2. Each runs the short data set
// (ShortData: ~1,900 events over 200 s of event time, produced in 20 s of
// wall time) and disrupts the job at points of event time chosen in the
// data: 105 s is the middle of the 10 s window [100 s, 110 s) and of many
// users' sessions. All must end with results equal to the reference.

// TestSigtermMidWindow stops the only instance gracefully twice and starts
// it again on the same disk each time: nothing half-full may be emitted on
// the way out (no record may differ from the expected one) and the next
// start completes the windows.
//
//   - SIGTERM at 105 s of event time, in the middle of a window.
//   - SIGINT once the input went quiet (quietStop): every partition's commit
//     is at its end offset and names a snapshot of its open windows, so
//     the restarted instance reads no record at all and must close those
//     windows by idleness from the snapshots alone.
func TestSigtermMidWindow(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(2))
	in := e.Instance("exact-0")
	// Long enough to stop the instance before idleness closes the last
	// windows; no partition pauses that long while the data is produced.
	in.env = append(in.env, "IDLE_TIMEOUT=8s")
	in.Start()
	p := e.Produce()
	p.WaitSent(105 * time.Second)
	in.Signal(syscall.SIGTERM, 60*time.Second)
	t.Logf("SIGTERM at 105 s of event time, %d events sent; restarting", p.Sent())
	in.Restart(false)
	quietStop(t, e, p, in)
	in.Restart(false)
	e.Verify("sigterm", VerifyOptions{})
}

// quietStop pauses the producer while every partition still has events to
// send, lets a snapshot interval pass (snapshots are taken after a batch,
// an interval after the previous one), sends the rest, waits until the
// commit of each partition that got events after the pause is at its end
// offset and names a snapshot taken there (with window_kafka), and stops
// the instance with SIGINT.
func quietStop(t *testing.T, e *Env, p *Producer, in *Instance) {
	t.Helper()
	last := map[int32]time.Duration{}
	for _, ev := range e.Data.Events {
		last[ev.Partition] = ev.SendAt
	}
	at := e.Data.SendSpan()
	for _, l := range last {
		at = min(at, l)
	}
	// Two producer chunks before the first partition's last event.
	p.WaitSent(at - 2*Speed*Tick)
	p.Pause()
	unsent := map[int32]int{}
	for _, ev := range e.Data.Events[p.Sent():] {
		unsent[ev.Partition]++
	}
	time.Sleep(1500 * time.Millisecond) // the scenario: a pause longer than STATE_INTERVAL, shorter than IDLE_TIMEOUT
	p.Resume()
	p.Wait()
	if e.Input == WindowKafka {
		var ends map[int32]int64
		var offs kadm.OffsetResponses
		atEnd := func() bool {
			ends = kafkatest.EndOffsets(t, e.Broker.Addr, EventsTopic)
			offs = kafkatest.FetchOffsets(t, e.Broker.Addr, "exact")
			for part := range unsent {
				o, ok := offs.Lookup(EventsTopic, part)
				if !ok || o.At != ends[part] || !strings.Contains(o.Metadata, fmt.Sprintf(`"snap":{"at":%d,`, ends[part])) {
					return false
				}
			}
			return true
		}
		if !kafkatest.Every(5*time.Second, 100*time.Millisecond, atEnd) {
			for part := range unsent {
				o, _ := offs.Lookup(EventsTopic, part)
				t.Logf("partition %d: end %d, committed %d %s", part, ends[part], o.At, o.Metadata)
			}
			t.Fatalf("the partitions that got %v events after the pause did not all commit their end offset with a snapshot taken there", unsent)
		}
	}
	in.Signal(syscall.SIGINT, 60*time.Second)
	t.Logf("SIGINT with the input quiet (events after the pause, by partition: %v); restarting", unsent)
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
