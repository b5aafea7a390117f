package exact

import (
	"testing"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kadm"
)

// TestBrokerProcessKeepsRecordsAndOffsets checks what the broker scenarios
// take for granted: after the broker process is killed (SIGKILL) or stopped
// (SIGTERM) and started again on the same port and data directory, its
// records and a group's committed offsets are all there. Otherwise those
// scenarios would test the broker, not the job.
func TestBrokerProcessKeepsRecordsAndOffsets(t *testing.T) {
	b := harness.StartBrokerProcess(t)
	harness.CreateTopics(t, b.Addr, 6, EventsTopic)
	ds := Generate(ShortData(1))
	ProduceAll(t, b.Addr, ds)
	commit := kadm.Offsets{}
	for p := int32(0); p < 6; p++ {
		commit.Add(kadm.Offset{Topic: EventsTopic, Partition: p, At: int64(10 + p), LeaderEpoch: -1, Metadata: "m"})
	}
	kafkatest.CommitOffsets(t, b.Addr, "g", commit)
	for _, restart := range []struct {
		name string
		stop func()
	}{{"SIGKILL", b.Kill}, {"SIGTERM", b.Stop}} {
		restart.stop()
		b.Restart()
		t.Logf("broker restarted after %s", restart.name)
		if total := eventsTopicRecords(t, b.Addr); total != int64(len(ds.Events)) {
			t.Errorf("after %s: the topic ends at %d records in total, %d were produced", restart.name, total, len(ds.Events))
		}
		got := kafkatest.FetchOffsets(t, b.Addr, "g")
		for p := int32(0); p < 6; p++ {
			o, ok := got.Lookup(EventsTopic, p)
			if !ok || o.At != int64(10+p) || o.Metadata != "m" {
				t.Errorf("after %s: committed offset of partition %d is %+v (found %v), want %d with metadata m", restart.name, p, o, ok, 10+p)
			}
		}
	}
}
