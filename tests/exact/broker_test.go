package exact

import (
	"testing"
	"time"
)

// TestBrokerKilledMidRun kills the broker process (SIGKILL) in the middle
// of a window and starts it again a second later on the same port and
// data directory. The job's instance keeps running throughout.
func TestBrokerKilledMidRun(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(4))
	e.StartInstance("exact-0")
	p := e.Produce()
	brokerOutage(t, e, p, 95*time.Second, time.Second, e.Broker.Kill)
	p.Wait()
	e.Verify("broker-killed", VerifyOptions{})
}

// TestBrokerUnreachableBeyondIdleTimeout stops the broker for 8 s,
// more than twice the job's idle_timeout (3 s): a source that is cut off is
// not idle, so nothing may close early and no event may turn late.
func TestBrokerUnreachableBeyondIdleTimeout(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), ShortData(5))
	e.StartInstance("exact-0")
	p := e.Produce()
	brokerOutage(t, e, p, 95*time.Second, 8*time.Second, e.Broker.Stop)
	p.Wait()
	e.Verify("broker-unreachable", VerifyOptions{})
}

// brokerOutage takes the broker down at the given point of event time for
// down (wall time) with stop, then restarts it. The producer pauses
// meanwhile (it could not write either) and catches up after.
func brokerOutage(t *testing.T, e *Env, p *Producer, at, down time.Duration, stop func()) {
	t.Helper()
	p.WaitSent(at)
	p.Pause()
	stop()
	t.Logf("broker down at %v of event time, %d events sent, for %v", at, p.Sent(), down)
	// The outage itself, not a wait for something: stop and Restart wait
	// for the process to exit and to listen again.
	time.Sleep(down)
	e.Broker.Restart()
	p.Resume()
}
