package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
)

type watchRecorder struct {
	due     time.Time
	dead    bool
	durable bool
}

func (w *watchRecorder) LadderRetry(due time.Time) { w.due = due }
func (w *watchRecorder) LadderDead()               { w.dead = true }
func (w *watchRecorder) LadderDurable(context.Context) error {
	w.durable = true
	return nil
}

// A failed event the window buffer watches learns its route: a retry stage
// with its due time, or the dead-letter route; the watch is not copied
// into the record written.
func TestRouterReportsTheRouteToTheWindowBuffersWatch(t *testing.T) {
	failed := func() (*service.Message, *watchRecorder) {
		m := service.NewMessage([]byte(`{"user":"u1"}`))
		m.SetError(errors.New("enrichment: 503"))
		w := &watchRecorder{}
		m.MetaSetMut(meta.StashWindowLadder, w)
		return m, w
	}
	m, w := failed()
	due := time.UnixMilli(1767225600123)
	c := stageCopy(m, State{Attempt: 1, DueMs: due.UnixMilli()}, "ev-retry-1")
	if !w.due.Equal(due) || w.dead {
		t.Fatalf("retry stage reported due %v dead %v, want due %v", w.due, w.dead, due)
	}
	if _, ok := c.MetaGetMut(meta.StashWindowLadder); ok {
		t.Fatal("the stage record carries the watch")
	}
	m, w = failed()
	c = dlqCopy(m, Decision{Route: ToDLQ, Class: meta.ClassRetriesExhausted})
	if !w.dead || !w.due.IsZero() || w.durable {
		t.Fatalf("dead-letter route reported dead %v due %v durable %v", w.dead, w.due, w.durable)
	}
	// Before the dead-letter write the router waits for the buffer's
	// record of it to be durable.
	if err := ladderDurable(context.Background(), service.MessageBatch{c}); err != nil || !w.durable {
		t.Fatalf("ladderDurable: %v, waited %v", err, w.durable)
	}
	if _, ok := c.MetaGetMut(meta.StashWindowLadder); ok {
		t.Fatal("the dead-letter record carries the watch")
	}
}
