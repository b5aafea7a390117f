package harness

import (
	"testing"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// CommittedResumes reads the window state's resume point that window_kafka
// stores in the metadata of group's committed offsets on topic, per
// partition; partitions whose metadata holds none are left out.
func CommittedResumes(t testing.TB, addr, group, topic string) map[int32]partition.Resume {
	t.Helper()
	offs := kafkatest.FetchOffsets(t, addr, group)
	out := map[int32]partition.Resume{}
	for p, o := range offs[topic] {
		if r, err := partition.DecodeResume(o.Metadata); err == nil {
			out[p] = r
		}
	}
	return out
}
