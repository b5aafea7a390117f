package window

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestStartupGraceDefault(t *testing.T) {
	for _, c := range []struct {
		yaml string
		want time.Duration
	}{
		{"", 5 * time.Second},
		{"idle_timeout: 300ms", 300 * time.Millisecond},
		{"idle_timeout: 1h", 5 * time.Second},
		{"idle_timeout: 1h\nstartup_grace: 1m", time.Minute},
		{"idle_timeout: 1s\nstartup_grace: 0s", 0},
	} {
		conf, err := bufferSpec().ParseYAML(c.yaml+"\nwindows: [ { name: w, size: 10s } ]", nil)
		if err != nil {
			t.Fatal(err)
		}
		o, err := parseOptions(conf)
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Duration(o.engine.StartupGrace); got != c.want {
			t.Errorf("%q: startup grace %v, want %v", c.yaml, got, c.want)
		}
	}
}

// TestBufferStartupGraceCountsBacklogOfEveryPartition drives the grace
// through the adapter: partitions come from kafka_topic/kafka_partition
// metadata and the grace ends on a tick of the injected clock.
func TestBufferStartupGraceCountsBacklogOfEveryPartition(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, at(1000))}
	b := newTestBuffer(t, `
timestamp_field: ts
startup_grace: 5s
windows: [ { name: w, size: 10s, key_field: k } ]
`, clk)
	ctx := context.Background()
	var acks [3]ackRecorder
	for p := range 3 {
		var batch service.MessageBatch
		for _, ts := range []string{"00:00:01", "00:00:05", "00:00:12", "00:00:25"} {
			m := service.NewMessage([]byte(`{"k":"p` + itoa(int64(p)) + `","ts":"2024-01-01T` + ts + `Z"}`))
			m.MetaSetMut("kafka_topic", "clicks")
			m.MetaSetMut("kafka_partition", itoa(int64(p)))
			batch = append(batch, m)
		}
		if err := b.WriteBatch(ctx, batch, acks[p].fn); err != nil {
			t.Fatal(err)
		}
		clk.Add(100 * time.Millisecond)
		b.tick()
	}
	if n := queued(b); n != 0 {
		t.Fatalf("%d batches out during the grace (late events or closed windows)", n)
	}
	clk.Add(5 * time.Second)
	b.tick()
	var got []string
	for range 2 {
		batch, ack := readNow(t, b)
		for _, m := range batch {
			if m.GetError() != nil {
				t.Fatalf("late or failed: %v", m.GetError())
			}
			id, _ := m.MetaGet("window_id")
			n, _ := m.MetaGet("window_events")
			got = append(got, id+"="+n)
		}
		_ = ack(ctx, nil)
	}
	want := []string{
		"p0|2024-01-01T00:00:00Z|2024-01-01T00:00:10Z=2", "p1|2024-01-01T00:00:00Z|2024-01-01T00:00:10Z=2",
		"p2|2024-01-01T00:00:00Z|2024-01-01T00:00:10Z=2",
		"p0|2024-01-01T00:00:10Z|2024-01-01T00:00:20Z=1", "p1|2024-01-01T00:00:10Z|2024-01-01T00:00:20Z=1",
		"p2|2024-01-01T00:00:10Z|2024-01-01T00:00:20Z=1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
