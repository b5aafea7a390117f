package window

import (
	"context"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// A replay drops the pass-through messages (here: events that fail
// validation) of offsets the resume says were written, writes the others,
// and the next checkpoint says how far the pass-through is written.
func TestPassThroughIsNotWrittenAgainOnReplay(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	p := partition.NewPartition("ev", 0, partition.Resume{Watermark: partition.NoWatermark, Released: partition.NoWatermark, Passed: 3}, 0, nil)
	var o outcomes
	sb := p.NewBatch(0, 4, o.done(0))
	var batch service.MessageBatch
	for i, body := range []string{`{"k":"a","ts":"` + engine.FormatTime(at(1)) + `"}`, `not json 1`, `{"k":"a","ts":"` + engine.FormatTime(at(2)) + `"}`, `{"k":"a","ts":"` + engine.FormatTime(at(3)) + `"}`, `not json 4`} {
		m := service.NewMessage([]byte(body))
		m.MetaSetMut(partition.MetaKey, sb)
		m.MetaSetMut("kafka_offset", i)
		batch = append(batch, m)
	}
	write(t, b, batch)
	out, ack := readNow(t, b)
	if len(out) != 1 {
		t.Fatalf("%d messages passed through, want only offset 4's failure (offset 1's was written before)", len(out))
	}
	if got, _ := out[0].AsBytes(); string(got) != "not json 4" || out[0].GetError() == nil {
		t.Fatalf("passed through %q (error %v), want offset 4's failure", got, out[0].GetError())
	}
	if cp := p.Sink().Checkpoint(0); cp.Passed != 3 {
		t.Fatalf("checkpoint before the write says passed %d, want 3", cp.Passed)
	}
	if err := ack(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if cp := p.Sink().Checkpoint(0); cp.Passed != 5 {
		t.Fatalf("checkpoint after the write says passed %d, want 5 (the batch's pass-through written)", cp.Passed)
	}
}
