package window

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/plugins/window/engine"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// ReadBatch hands on at most unackedLimit messages the output has not
// acknowledged: a slow output holds results in the queue (which holds
// WriteBatch) instead of every result waiting in memory as a message.
func TestReadWaitsForAcksAboveTheUnackedLimit(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, at(0))}
	b := newTestBuffer(t, partitionedYAML, clock)
	b.unackedLimit = 2 * maxResultBatch
	p := partition.NewPartition("ev", 0, partition.Fresh, 0, nil)
	var o outcomes
	// 3000 keys in [0,10), closed by an event at 12 s: 3000 results, read
	// in parts of maxResultBatch.
	sb := p.NewBatch(0, 3000, o.done(0))
	var batch service.MessageBatch
	for i := 0; i <= 3000; i++ {
		ts := at(1)
		if i == 3000 {
			ts = at(12)
		}
		m := service.NewMessage([]byte(fmt.Sprintf(`{"k":"k%d","ts":%q}`, i, engine.FormatTime(ts))))
		m.MetaSetMut(partition.MetaKey, sb)
		m.MetaSetMut("kafka_offset", i)
		batch = append(batch, m)
	}
	write(t, b, batch)

	first, ackFirst := readNow(t, b)
	second, _ := readNow(t, b)
	if len(first)+len(second) != 2*maxResultBatch {
		t.Fatalf("read %d and %d results, want two parts of %d", len(first), len(second), maxResultBatch)
	}
	// At the limit: a read waits (here: until its context ends).
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if got, _, err := b.ReadBatch(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("read at the unacked limit returned %d messages, %v; want it to wait for an ack", len(got), err)
	}
	if err := ackFirst(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	third, _ := readNow(t, b)
	if len(third) != 3000-2*maxResultBatch {
		t.Fatalf("after an ack read %d results, want the remaining %d", len(third), 3000-2*maxResultBatch)
	}
}
