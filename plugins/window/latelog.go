package window

import (
	"fmt"
	"sync"
	"time"

	"github.com/streamkit/pipeline/plugins/window/engine"
)

// lateLogEvery is the least time between two late-event log lines.
const lateLogEvery = time.Second

// lateLog writes one INFO line per late event, at most one per lateLogEvery:
// a line names the window the event missed, and how many late events went
// without a line since the previous one, so a burst of late events (a
// backlog, a lagging producer) cannot flood the log.
type lateLog struct {
	mu         sync.Mutex
	now        func() time.Time
	print      func(string)
	last       time.Time
	suppressed int
}

func newLateLog(now func() time.Time, print func(string)) *lateLog {
	return &lateLog{now: now, print: print}
}

// late records a late event for l; it prints the line when the last one is
// lateLogEvery old.
func (ll *lateLog) late(key string, eventTime int64, l engine.LateInfo) {
	ll.mu.Lock()
	now := ll.now()
	if !ll.last.IsZero() && now.Sub(ll.last) < lateLogEvery {
		ll.suppressed++
		ll.mu.Unlock()
		return
	}
	n := ll.suppressed
	ll.last, ll.suppressed = now, 0
	ll.mu.Unlock()
	msg := fmt.Sprintf("window %s: late event key=%q at %s missed [%s, %s) by %v (watermark %s), routed as late",
		l.Window, key, engine.FormatTime(eventTime), engine.FormatTime(l.Start), engine.FormatTime(l.End),
		l.LateBy, engine.FormatTime(l.Watermark))
	if n > 0 {
		msg += fmt.Sprintf("; %d more late events since the last such line", n)
	}
	ll.print(msg)
}
