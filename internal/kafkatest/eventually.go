package kafkatest

import (
	"testing"
	"time"
)

// PollInterval is how often Eventually checks its condition.
const PollInterval = 10 * time.Millisecond

// Eventually waits until cond holds, checking it every PollInterval, and
// fails the test naming what it waited for when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Within(timeout, cond) {
		t.Fatalf("timed out after %v waiting for %s", timeout, what)
	}
}

// Within reports whether cond held within timeout, checking it every
// PollInterval; for callers that report the failure themselves.
func Within(timeout time.Duration, cond func() bool) bool {
	return Every(timeout, PollInterval, cond)
}

// Every is Within checking every interval: for conditions that cost a
// request (committed offsets, an HTTP call, a page evaluation).
func Every(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for !cond() {
		if !time.Now().Before(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

// Consistently checks cond every PollInterval for d and fails the test,
// naming what should have held, the first time it does not.
func Consistently(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		if !cond() {
			t.Fatalf("%s stopped holding", what)
		}
		<-tick.C
	}
}
