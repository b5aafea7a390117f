package exact

import (
	"context"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

// CollectOptions say when a topic has been read enough.
type CollectOptions struct {
	WantKeys int           // distinct keys expected
	Quiet    time.Duration // with WantKeys reached, stop after this long without a new record
	GiveUp   time.Duration // stop after this long without a new record even below WantKeys (a failing run)
	Deadline time.Duration // stop after this long in any case
	// Alive, when set, is asked between polls: once it returns false
	// (every instance of the job exited) nothing more can come, and Collect
	// stops after Quiet.
	Alive func() bool
}

// Collect reads topic from the start, without a group, committed records
// only, until at least
// WantKeys distinct keys arrived and then nothing new for Quiet (a late
// duplicate or a window emitted twice shows up then), and returns every
// record read.
func Collect(t testing.TB, addr, topic string, o CollectOptions) []*kgo.Record {
	t.Helper()
	cl, err := kafkatest.NewClient(addr, kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		// As a reader of the results would: records of aborted
		// transactions (the repartition step's) are not there.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatalf("consumer of %s: %v", topic, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), o.Deadline)
	defer cancel()
	var out []*kgo.Record
	keys := map[string]bool{}
	lastNew := time.Now()
	for ctx.Err() == nil {
		pctx, pcancel := context.WithTimeout(ctx, o.Quiet/4+50*time.Millisecond)
		fs := cl.PollFetches(pctx)
		pcancel()
		n := len(out)
		fs.EachRecord(func(r *kgo.Record) {
			out = append(out, r)
			keys[string(r.Key)] = true
		})
		if len(out) > n {
			lastNew = time.Now()
		}
		idle := time.Since(lastNew)
		if idle >= o.Quiet && (len(keys) >= o.WantKeys || (o.Alive != nil && !o.Alive())) || o.GiveUp > 0 && idle >= o.GiveUp {
			break
		}
	}
	return out
}
