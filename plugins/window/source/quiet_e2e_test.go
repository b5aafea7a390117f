package source_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// A restart after the input went quiet: every partition's commit is at its
// end offset and names a snapshot of its open windows, so the restarted job
// fetches nothing at all. It must still close those windows when the
// partitions go idle, as one uninterrupted run does, and commit that they
// are written (a later restart does not emit them again).
func TestQuietPartitionsRestoredFromSnapshotsCloseTheirWindows(t *testing.T) {
	addr := cluster(t, 3)
	const group, users = "g-quiet", 6
	all := events(0, 300, users)
	produce(t, addr, all)
	sent := len(all)

	var r results
	stop := startJobWith(t, addr, group, "1h", "  state_interval: 100ms\n", &r)
	// Snapshots are taken after a batch, an interval after the last one:
	// the partitions' last batches come an interval apart from the rest
	// (one event per user, so every partition gets one), until each
	// commit lies at its partition's end and names a snapshot from there.
	atEnd := func() bool {
		ends := kafkatest.EndOffsets(t, addr, topic)
		offs := committedNow(t, addr, group)
		ok := len(ends) == 3
		for p, end := range ends {
			o, found := offs.Lookup(topic, p)
			if !found || o.At != end {
				ok = false
				continue
			}
			rs, err := partition.DecodeResume(o.Metadata)
			if err != nil || rs.Snap == nil || rs.Snap.At != end {
				ok = false
			}
		}
		return ok
	}
	for i := 0; !atEnd(); i++ {
		if i == 8 {
			t.Fatal("no commit at the partitions' end offsets naming a snapshot from there")
		}
		time.Sleep(300 * time.Millisecond) // the scenario: an interval between the last batches
		more := events(sent, users, users)
		produce(t, addr, more)
		all, sent = append(all, more...), sent+len(more)
		kafkatest.Every(3*time.Second, 50*time.Millisecond, atEnd)
	}
	stop()
	want := expected(all)
	if r.windows() >= len(want) {
		t.Fatalf("the first run emitted %d windows of %d: none was left open for the restart", r.windows(), len(want))
	}
	before := committedResumes(t, addr, group)

	startJobWith(t, addr, group, "500ms", "  state_interval: 100ms\n", &r)
	kafkatest.Eventually(t, 30*time.Second, "every window, closed by idleness", func() bool { return r.windows() >= len(want) })
	r.check(t, want)
	kafkatest.Eventually(t, 10*time.Second, "commits saying the restored windows are written", func() bool {
		ok := true
		committedNow(t, addr, group).Each(func(o kadm.OffsetResponse) {
			rs, err := partition.DecodeResume(o.Metadata)
			if err != nil || rs.Released <= before[o.Partition].Released {
				ok = false
			}
		})
		return ok
	})
}

// committedNow is the group's committed offsets, nothing while it has none.
func committedNow(t *testing.T, addr, group string) kadm.OffsetResponses {
	t.Helper()
	offs, err := kadm.NewClient(kafkatest.Client(t, addr)).FetchOffsets(context.Background(), group)
	if err != nil {
		return nil
	}
	return offs
}
