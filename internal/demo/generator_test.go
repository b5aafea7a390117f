package demo

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/eventtime"
)

func TestGeneratorShapeDisorderAndMalformedShare(t *testing.T) {
	g := NewGenerator(42, 20)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	const n = 20000
	var malformed, late, tooLate, noProfile int
	users := map[string]bool{}
	for i := 0; i < n; i++ {
		r := g.Next(now)
		if r.Malformed != "" {
			malformed++
			continue
		}
		if r.Late {
			tooLate++
			var e Event
			_ = json.Unmarshal(r.Value, &e)
			ts, err := eventtime.ParseString(e.Timestamp)
			if err != nil || now.Sub(ts) < g.LateBy || now.Sub(ts) > 2*g.LateBy {
				t.Fatalf("late event stamped %s (%v), want %v..%v before now", e.Timestamp, err, g.LateBy, 2*g.LateBy)
			}
			continue
		}
		if r.NoProfile {
			noProfile++
			if !strings.HasPrefix(string(r.Key), NoProfilePrefix) {
				t.Fatalf("no-profile event of user %q", r.Key)
			}
			continue
		}
		var e Event
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("valid record is not JSON: %s", r.Value)
		}
		if string(r.Key) != e.UserID {
			t.Fatalf("key %q != user_id %q", r.Key, e.UserID)
		}
		if !slices.Contains(EventTypes, e.EventType) {
			t.Fatalf("event_type %q", e.EventType)
		}
		ts, err := eventtime.ParseString(e.Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		if ts.After(now) || now.Sub(ts) > g.MaxDisorder {
			t.Fatalf("timestamp %v outside [now-%v, now]", ts, g.MaxDisorder)
		}
		if ts.Before(now) {
			late++
		}
		users[e.UserID] = true
	}
	if len(users) != 20 {
		t.Errorf("saw %d users, want 20", len(users))
	}
	if share := float64(malformed) / n; share < 0.015 || share > 0.025 {
		t.Errorf("malformed share %.3f, want ~0.02", share)
	}
	if share := float64(late) / n; share < 0.06 || share > 0.12 {
		t.Errorf("out-of-order share %.3f, want ~0.1 of the normal events", share)
	}
	for what, got := range map[string]int{"late": tooLate, "no-profile": noProfile} {
		if share := float64(got) / n; share < 0.02 || share > 0.04 {
			t.Errorf("%s share %.3f, want ~0.03", what, share)
		}
	}
}

func TestGeneratorIsReproducible(t *testing.T) {
	now := time.Unix(1700000000, 0)
	a, b := NewGenerator(7, 20), NewGenerator(7, 20)
	for i := 0; i < 100; i++ {
		if ra, rb := a.Next(now), b.Next(now); string(ra.Value) != string(rb.Value) {
			t.Fatalf("record %d differs", i)
		}
	}
}
