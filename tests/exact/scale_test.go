package exact

import (
	"testing"
	"time"
)

// TestScaleOutAndIn runs one instance, adds two (1 -> 3, same consumer
// group, distinct INSTANCE_IDs) in the middle of a window at 65 s of event
// time, and stops those two with SIGTERM at 135 s (3 -> 1): partitions move
// twice mid-window and every window must still be written exactly.
func TestScaleOutAndIn(t *testing.T) {
	runScale(t, ShortData(7), false)
}

// TestScaleOutAndInWithCrash is TestScaleOutAndIn with one of the two
// leaving instances killed (SIGKILL) and never restarted: its partitions
// reach the remaining instance only when its group session expires (the
// input's session_timeout in JobConfig).
func TestScaleOutAndInWithCrash(t *testing.T) {
	runScale(t, ShortData(8), true)
}

func runScale(t *testing.T, data GenOptions, crash bool) {
	e := NewEnv(t, SelectedInput(t), data)
	e.StartInstance("exact-0")
	p := e.Produce()
	p.WaitSent(65 * time.Second)
	e.StartInstance("exact-1")
	e.StartInstance("exact-2")
	owners := e.WaitAssigned(30*time.Second, "exact-0", "exact-1", "exact-2")
	t.Logf("1 -> 3 instances at 65s of event time (%s), %d events sent", owners, p.Sent())
	p.WaitSent(135 * time.Second)
	e.Instance("exact-1").Stop()
	if crash {
		e.Instance("exact-2").Kill()
	} else {
		e.Instance("exact-2").Stop()
	}
	t.Logf("3 -> 1 instances at 135s of event time (exact-2 killed: %v), %d events sent", crash, p.Sent())
	// A member that left without a LeaveGroup (killed, or static and not
	// leaving on close) holds its partitions until its session expires: up
	// to the input's session_timeout plus a rebalance.
	leaving := time.Now()
	owners = e.WaitAssigned(90*time.Second, "exact-0")
	t.Logf("exact-0 owns every partition again %v after the 3 -> 1 (%s)", time.Since(leaving).Round(100*time.Millisecond), owners)
	p.Wait()
	name := "scale-1-3-1"
	if crash {
		name += "-crash"
	}
	e.Verify(name, VerifyOptions{})
}
