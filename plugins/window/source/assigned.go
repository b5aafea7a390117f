package source

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// readyLocked announces t's partition to the window buffer: assigned, and
// its snapshot (if its commit names one) loaded. Callers hold in.mu.
func (in *input) readyLocked(t *tracker) {
	if in.assignments != nil && !t.part.Retry {
		in.assignments.Ready(t.part)
	}
}

// listEnds asks the cluster for the end offsets of newly assigned
// partitions, retrying until it answers or they are handed back. A
// partition with nothing after its committed offset returns no fetch
// response, so only this tells it that it is caught up (and may go idle).
func (in *input) listEnds(cl *kgo.Client, ts []*tracker) {
	adm := kadm.NewClient(cl)
	for failures := 1; ; failures++ {
		topics := map[string]struct{}{}
		var live []*tracker
		for _, t := range ts {
			if !t.part.Revoked() {
				live = append(live, t)
				topics[t.part.Topic] = struct{}{}
			}
		}
		if len(live) == 0 {
			return
		}
		names := make([]string, 0, len(topics))
		for n := range topics {
			names = append(names, n)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ends, err := adm.ListEndOffsets(ctx, names...)
		cancel()
		var missing []*tracker
		for _, t := range live {
			o, ok := ends.Lookup(t.part.Topic, t.part.ID)
			if err != nil || !ok || o.Err != nil {
				missing = append(missing, t)
				continue
			}
			t.part.ListedEnd(o.Offset)
		}
		if len(missing) == 0 {
			return
		}
		ts = missing
		if in.log != nil && failures == 1 {
			in.log.Debugf("window_kafka: end offsets of %d newly assigned partitions not listed yet (retried): %v", len(missing), err)
		}
		select {
		case <-in.closed:
			return
		case <-time.After(restoreBackoff(failures)):
		}
	}
}
