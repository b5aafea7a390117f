package retry

import (
	"errors"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
)

type watchRecorder struct {
	due  time.Time
	dead bool
}

func (w *watchRecorder) LadderRetry(due time.Time) { w.due = due }
func (w *watchRecorder) LadderDead()               { w.dead = true }

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
	if !w.dead || !w.due.IsZero() {
		t.Fatalf("dead-letter route reported dead %v due %v", w.dead, w.due)
	}
	if _, ok := c.MetaGetMut(meta.StashWindowLadder); ok {
		t.Fatal("the dead-letter record carries the watch")
	}
}
