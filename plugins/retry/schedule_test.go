package retry

import (
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/meta"
)

var t0 = time.UnixMilli(1_700_000_000_000)

func TestLadderStagesTopicsAndDue(t *testing.T) {
	l := &Ladder{Delays: []time.Duration{time.Second, 10 * time.Second, time.Minute}}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	st := State{OriginalTopic: "orders", OriginalPartition: 2, OriginalOffset: 9}
	wantDelay := []time.Duration{time.Second, 10 * time.Second, time.Minute}
	now := t0
	for i := range 3 {
		d := l.OnFailure(st, now, true, "processing", "boom")
		if d.Route != ToStage || d.Stage != i+1 {
			t.Fatalf("failure %d: route %v stage %d", i+1, d.Route, d.Stage)
		}
		if want := "orders-retry-" + string(rune('1'+i)); d.Topic != want {
			t.Fatalf("failure %d: topic %q want %q", i+1, d.Topic, want)
		}
		if !d.Due.Equal(now.Add(wantDelay[i])) || d.State.DueMs != now.Add(wantDelay[i]).UnixMilli() {
			t.Fatalf("failure %d: due %v", i+1, d.Due)
		}
		if d.State.Attempt != i+1 || d.State.FirstFailureMs != t0.UnixMilli() || d.State.LastFailureMs != now.UnixMilli() {
			t.Fatalf("failure %d: state %+v", i+1, d.State)
		}
		if d.State.OriginalTopic != "orders" || d.State.OriginalOffset != 9 || d.State.LastError != "boom" {
			t.Fatalf("original fields lost: %+v", d.State)
		}
		st = d.State
		now = d.Due.Add(5 * time.Millisecond)
	}
	d := l.OnFailure(st, now, true, "", "boom")
	if d.Route != ToDLQ || d.Class != meta.ClassRetriesExhausted || d.State.Attempt != 4 {
		t.Fatalf("after last stage: %+v", d)
	}
}

func TestLadderFatalKeepsSpecificClass(t *testing.T) {
	l := &Ladder{Delays: []time.Duration{time.Second}}
	for in, want := range map[string]string{"validation": "validation", "late": "late", "": "fatal", "processing": "fatal", "fatal": "fatal"} {
		d := l.OnFailure(State{}, t0, false, in, "x")
		if d.Route != ToDLQ || d.Class != want || d.State.Attempt != 1 {
			t.Fatalf("class %q: %+v", in, d)
		}
	}
}

func TestLadderReusedTopicAndMaxAttempts(t *testing.T) {
	l := &Ladder{Delays: []time.Duration{30 * time.Second}, Topics: []string{"orders-retry"}, MaxAttempts: 4}
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	var st State
	for i := 1; i <= 3; i++ {
		d := l.OnFailure(st, t0, true, "", "e")
		if d.Route != ToStage || d.Stage != 1 || d.Topic != "orders-retry" {
			t.Fatalf("failure %d: %+v", i, d)
		}
		st = d.State
	}
	if d := l.OnFailure(st, t0, true, "", "e"); d.Route != ToDLQ || d.State.Attempt != 4 {
		t.Fatalf("4th failure should exhaust: %+v", d)
	}
	// Fewer attempts than stages ends early.
	short := &Ladder{Delays: []time.Duration{1, 2, 3}, MaxAttempts: 2}
	d := short.OnFailure(State{Attempt: 1}, t0, true, "", "e")
	if d.Route != ToDLQ || d.Class != meta.ClassRetriesExhausted {
		t.Fatalf("max_attempts 2: %+v", d)
	}
}

func TestExponentialCapAndJitter(t *testing.T) {
	ds, err := ExponentialDelays(time.Second, 30*time.Second, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 4 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i := range want {
		if ds[i] != want[i] {
			t.Fatalf("delays %v want %v", ds, want)
		}
	}
	// Huge multipliers must not overflow into negative delays.
	big, err := ExponentialDelays(time.Hour, 0, 1e6, 8)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range big {
		if d <= 0 {
			t.Fatalf("overflowed: %v", big)
		}
	}
	r := 0.5
	l := &Ladder{Delays: ds, Jitter: 0.2, Rand: func() float64 { return r }}
	if got := l.Delay(4); got != 27*time.Second {
		t.Fatalf("jittered delay %v want 27s", got)
	}
	r = 0.999999
	if got := l.Delay(1); got <= 800*time.Millisecond || got > time.Second {
		t.Fatalf("jitter out of range: %v", got)
	}
	if _, err := ExponentialDelays(time.Second, 0, 0.5, 3); err == nil || !strings.Contains(err.Error(), "multiplier") {
		t.Fatalf("multiplier < 1 accepted: %v", err)
	}
}

func TestLadderValidateNamesField(t *testing.T) {
	cases := map[string]*Ladder{
		"delays:":        {},
		"delays[1]":      {Delays: []time.Duration{1, -1}},
		"topics:":        {Delays: []time.Duration{1, 2, 3}, Topics: []string{"a", "b"}},
		"topic_pattern:": {Delays: []time.Duration{1, 2}, TopicPattern: "x-retry"},
		"max_attempts:":  {Delays: []time.Duration{1}, MaxAttempts: -1},
		"jitter:":        {Delays: []time.Duration{1}, Jitter: 1.5},
	}
	for want, l := range cases {
		err := l.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("want error starting %q, got %v", want, err)
		}
	}
}
