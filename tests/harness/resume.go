package harness

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// CommittedResumes reads the window state's resume point that window_kafka
// stores in the metadata of group's committed offsets on topic, per
// partition; partitions whose metadata holds none are left out.
func CommittedResumes(t testing.TB, addr, group, topic string) map[int32]partition.Resume {
	t.Helper()
	cl := newClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
	if err != nil {
		t.Fatalf("fetch offsets of %s: %v", group, err)
	}
	out := map[int32]partition.Resume{}
	for p, o := range offs[topic] {
		if r, err := partition.DecodeResume(o.Metadata); err == nil {
			out[p] = r
		}
	}
	return out
}
