package repartition_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"

	_ "github.com/redpanda-data/benthos/v4/public/components/pure"

	"github.com/streamkit/pipeline/internal/kafkatest"
	_ "github.com/streamkit/pipeline/plugins/window/repartition"
)

type click struct {
	User string `json:"user"`
	Page string `json:"page,omitempty"`
	N    int    `json:"n"`
}

func produceClicks(t *testing.T, addr string, from, n int) {
	t.Helper()
	var rs []*kgo.Record
	for i := from; i < from+n; i++ {
		c := click{User: fmt.Sprintf("u%d", i%7), Page: fmt.Sprintf("/p%d", i%5), N: i}
		if i%50 == 49 {
			c.Page = "" // no page: the key cannot be computed
		}
		b, _ := json.Marshal(c)
		rs = append(rs, &kgo.Record{Key: []byte(c.User), Value: b})
	}
	kafkatest.ProduceByKey(t, addr, "clicks", rs...)
}

// runRepartition runs a stream of the input (to a drop output) until stop.
func runRepartition(t *testing.T, addr string) (stop func()) {
	t.Helper()
	sb := service.NewStreamBuilder()
	if err := sb.SetYAML(fmt.Sprintf(`
input:
  window_repartition:
    seed_brokers: [ %q ]
    topics: [ clicks ]
    consumer_group: rekey
    instance_id: rekey-0
    topic: clicks-by-page
    key: '${! json("page").not_null() }'
output:
  drop: {}
logger:
  level: warn
`, addr)); err != nil {
		t.Fatal(err)
	}
	st, err := sb.Build()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- st.Run(context.Background()) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := st.Stop(ctx); err != nil {
			t.Errorf("stopping the stream: %v", err)
		}
		<-done
	}
}

// readCommitted reads the repartition topic as a read-committed reader
// until it holds want records, and then for a moment more, so that a
// duplicate shows. Its reader creates no topic: the input under test
// creates the repartition topic, with the source topic's partition count.
func readCommitted(t *testing.T, addr string, want int) []*kgo.Record {
	t.Helper()
	got := kafkatest.ConsumeCommitted(t, addr, "clicks-by-page", want, 30*time.Second)
	if len(got) < want {
		t.Fatalf("read %d committed records from clicks-by-page, want %d", len(got), want)
	}
	if more := kafkatest.ConsumeCommitted(t, addr, "clicks-by-page", 2*want, 2*time.Second); len(more) > len(got) {
		got = more
	}
	return got
}

// Every record is in the repartition topic once, keyed by its page (its
// original key when it has none), every record of a key in one partition;
// a restart continues from the offsets committed in the transactions.
func TestRepartitionWritesEachRecordOnceKeyedByTheField(t *testing.T) {
	addr := kafkatest.Cluster(t, 3, "clicks")

	produceClicks(t, addr, 0, 200)
	stop := runRepartition(t, addr)
	readCommitted(t, addr, 200)
	stop()
	produceClicks(t, addr, 200, 100)
	stop = runRepartition(t, addr)
	defer stop()
	got := readCommitted(t, addr, 300)

	seen := map[int]int{}
	partOf := map[string]int32{}
	for _, r := range got {
		var c click
		if err := json.Unmarshal(r.Value, &c); err != nil {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		seen[c.N]++
		want := c.Page
		if want == "" {
			want = c.User
		}
		if string(r.Key) != want {
			t.Errorf("record %d keyed %q, want %q", c.N, r.Key, want)
		}
		if p, ok := partOf[want]; ok && p != r.Partition {
			t.Errorf("key %q in partitions %d and %d", want, p, r.Partition)
		}
		partOf[want] = r.Partition
	}
	for n := range 300 {
		if seen[n] != 1 {
			t.Errorf("record %d written %d times, want once", n, seen[n])
		}
	}
	if len(got) != 300 {
		t.Errorf("%d records in the repartition topic, want 300", len(got))
	}
}

func TestRepartitionLintNamesTheField(t *testing.T) {
	for conf, want := range map[string]string{
		`{ seed_brokers: [ x ], topics: [ a ], consumer_group: g, topic: a, key: k }`:                 "field topic: the repartition topic must not be one of the source topics",
		`{ seed_brokers: [ x ], topics: [ a ], consumer_group: "", topic: b, key: k }`:                "field consumer_group: must not be empty",
		`{ seed_brokers: [ x ], topics: [ a ], consumer_group: g, topic: b, key: k, partitions: -1 }`: "field partitions: must not be negative",
	} {
		err := service.NewStreamBuilder().AddInputYAML("window_repartition: " + conf)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lint of %s: %v, want %q", conf, err, want)
		}
	}
}
