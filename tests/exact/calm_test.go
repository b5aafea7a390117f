package exact

import "testing"

// TestCalm is the baseline: one instance, no disruption, the data produced
// over time. Every other scenario is this one plus a disruption.
func TestCalm(t *testing.T) {
	runCalm(t, SelectedInput(t))
}

// TestCalmStockInput runs the baseline with Redpanda Connect's `redpanda`
// input, whatever EXACT_INPUT says: without disruptions the window buffer
// must be exact with the stock input too (issue 12, point 4).
func TestCalmStockInput(t *testing.T) {
	runCalm(t, Redpanda)
}

func runCalm(t *testing.T, in Input) {
	e := NewEnv(t, in, ShortData(1))
	e.StartInstance("exact-0")
	e.Produce().Wait()
	e.Verify("calm", VerifyOptions{})
}
