package window

import (
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/plugins/window/engine"
)

// A late event is logged with the window it missed, at most one line a
// second; the next line counts the late events that got none.
func TestLateLogIsRateLimited(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(100))}
	var lines []string
	ll := newLateLog(clock.Now, func(s string) { lines = append(lines, s) })
	info := engine.LateInfo{Window: "user_10s", Start: at(0), End: at(10), LateBy: 80 * time.Second, Watermark: at(90)}
	ll.late("u1", at(3), info)
	for range 5 {
		clock.Add(100 * time.Millisecond)
		ll.late("u2", at(4), info)
	}
	if len(lines) != 1 {
		t.Fatalf("%d lines within a second, want 1: %q", len(lines), lines)
	}
	want := `window user_10s: late event key="u1" at 2024-01-01T00:00:03Z missed [2024-01-01T00:00:00Z, 2024-01-01T00:00:10Z) by 1m20s (watermark 2024-01-01T00:01:30Z), routed as late`
	if lines[0] != want {
		t.Fatalf("line\n%s\nwant\n%s", lines[0], want)
	}
	clock.Add(600 * time.Millisecond)
	ll.late("u3", at(5), info)
	if len(lines) != 2 || !strings.Contains(lines[1], `key="u3"`) || !strings.HasSuffix(lines[1], "; 5 more late events since the last such line") {
		t.Fatalf("second line %q, want u3's with the 5 late events that got no line", lines[len(lines)-1])
	}
}
