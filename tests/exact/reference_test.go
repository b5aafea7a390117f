package exact

import (
	"testing"
	"time"
)

// TestReferenceHandWorked checks the reference on events whose windows were
// worked out by hand, including the edges: an event on a window's start,
// a gap of exactly 30 s (a new session), 29.999 s (the same session),
// events given out of order, and a late event that counts nowhere.
func TestReferenceHandWorked(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	ev := func(user string, ms int, page string) Event { return Event{User: user, TS: at(ms), Page: page} }
	events := []Event{
		ev("a", 3120, "/p1"),
		ev("a", 9999, "/p2"),
		ev("a", 1000, "/p1"), // out of order
		ev("a", 10000, "/p1"),
		ev("a", 39999, "/p3"), // 29.999 s after 10.000: same session
		ev("a", 69999, "/p3"), // exactly 30 s after 39.999: new session
		ev("b", 5500, "/p9"),
		{User: "a", TS: at(5000).Add(-time.Hour), Page: "/p1", Late: true, Value: []byte("late-a")},
	}
	exp := Reference(events)
	want := map[string]string{
		"a|2026-01-01T00:00:00Z|2026-01-01T00:00:10Z":         `{"events":3,"pages":2,"user":"a","window":"t10","window_end":"2026-01-01T00:00:10Z","window_start":"2026-01-01T00:00:00Z"}`,
		"a|2026-01-01T00:00:10Z|2026-01-01T00:00:20Z":         `{"events":1,"pages":1,"user":"a","window":"t10","window_end":"2026-01-01T00:00:20Z","window_start":"2026-01-01T00:00:10Z"}`,
		"a|2026-01-01T00:00:30Z|2026-01-01T00:00:40Z":         `{"events":1,"pages":1,"user":"a","window":"t10","window_end":"2026-01-01T00:00:40Z","window_start":"2026-01-01T00:00:30Z"}`,
		"a|2026-01-01T00:01:00Z|2026-01-01T00:01:10Z":         `{"events":1,"pages":1,"user":"a","window":"t10","window_end":"2026-01-01T00:01:10Z","window_start":"2026-01-01T00:01:00Z"}`,
		"b|2026-01-01T00:00:00Z|2026-01-01T00:00:10Z":         `{"events":1,"pages":1,"user":"b","window":"t10","window_end":"2026-01-01T00:00:10Z","window_start":"2026-01-01T00:00:00Z"}`,
		"a|2026-01-01T00:00:01Z|2026-01-01T00:01:09.999Z":     `{"events":5,"user":"a","window":"s30","window_end":"2026-01-01T00:01:09.999Z","window_start":"2026-01-01T00:00:01Z"}`,
		"a|2026-01-01T00:01:09.999Z|2026-01-01T00:01:39.999Z": `{"events":1,"user":"a","window":"s30","window_end":"2026-01-01T00:01:39.999Z","window_start":"2026-01-01T00:01:09.999Z"}`,
		"b|2026-01-01T00:00:05.5Z|2026-01-01T00:00:35.5Z":     `{"events":1,"user":"b","window":"s30","window_end":"2026-01-01T00:00:35.5Z","window_start":"2026-01-01T00:00:05.5Z"}`,
	}
	if len(exp.Windows) != len(want) {
		t.Errorf("reference has %d windows, want %d", len(exp.Windows), len(want))
	}
	for id, body := range want {
		w := exp.Windows[id]
		if w == nil {
			t.Errorf("reference lacks window %s", id)
			continue
		}
		if got := string(w.Body()); got != body {
			t.Errorf("window %s:\n got %s\nwant %s", id, got, body)
		}
	}
	if exp.Events[TumblingName] != 7 || exp.Events[SessionName] != 7 {
		t.Errorf("events per window name %v, want 7 in each (the late one in none)", exp.Events)
	}
	if len(exp.Late) != 1 || string(exp.Late[0]) != "late-a" {
		t.Errorf("late values %q, want [late-a]", exp.Late)
	}
}
