package source

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestFlightLimitWaitsForRelease(t *testing.T) {
	f := newFlightLimit(10)
	ctx := context.Background()
	if err := f.acquire(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if err := f.acquire(ctx, 4); err != nil {
		t.Fatal(err)
	}
	// Full: a further acquire waits, so with a cancelled context it fails.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := f.acquire(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire over the bound returned %v, want it to wait (context.Canceled)", err)
	}
	got := make(chan error, 1)
	go func() { got <- f.acquire(ctx, 5) }()
	f.release(6) // 4 in flight: 5 more fit
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("acquire still waiting after the release made room")
	}
	if n := f.inFlight(); n != 9 {
		t.Fatalf("in flight %d, want 9", n)
	}
}

func TestFlightLimitLetsAnOversizedBatchThroughAlone(t *testing.T) {
	f := newFlightLimit(10)
	if err := f.acquire(context.Background(), 25); err != nil {
		t.Fatalf("a batch over the bound with nothing in flight: %v", err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.acquire(cancelled, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire beside an oversized batch returned %v, want it to wait", err)
	}
	f.release(25)
	if err := f.acquire(cancelled, 10); err != nil {
		t.Fatalf("acquire after the oversized batch was released: %v", err)
	}
}
