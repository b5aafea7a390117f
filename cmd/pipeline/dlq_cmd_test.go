package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/dlq"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

// dlqRecords are dead letters as three different producers wrote them.
func dlqRecords() []*kgo.Record {
	be32 := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	be64 := func(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }
	failed := time.Date(2024, 6, 27, 16, 0, 0, 0, time.UTC)
	native := dlq.NewEnvelope()
	native.Error, native.Class, native.Topic, native.Partition, native.Offset = "user_id: required", "validation", "clicks", 0, 7
	native.TimestampMs, native.Attempts, native.LastFailureMs, native.FirstFailureMs = 1719503023315, 1, failed.UnixMilli(), failed.UnixMilli()
	var nh []kgo.RecordHeader
	for _, h := range append([]dlq.Header{{Key: "trace", Value: []byte("t1")}}, dlq.Encode(native, dlq.Native)...) {
		nh = append(nh, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return []*kgo.Record{
		{Topic: "dlq", Key: []byte("u1"), Value: []byte(`{"bad":1}`), Timestamp: failed, Headers: nh},
		{Topic: "dlq", Key: []byte("u2"), Value: []byte(`spring`), Timestamp: failed.Add(time.Hour), Headers: []kgo.RecordHeader{
			{Key: "kafka_dlt-original-topic", Value: []byte("orders")},
			{Key: "kafka_dlt-original-partition", Value: be32(0)},
			{Key: "kafka_dlt-original-offset", Value: be64(42)},
			{Key: "kafka_dlt-original-timestamp", Value: be64(1719500000000)},
			{Key: "kafka_dlt-original-timestamp-type", Value: []byte("CreateTime")},
			{Key: "kafka_dlt-exception-fqcn", Value: []byte("org.springframework.kafka.listener.ListenerExecutionFailedException")},
			{Key: "kafka_dlt-exception-message", Value: []byte("Listener failed; NullPointerException")},
			{Key: "retry_topic-attempts", Value: be32(4)},
			{Key: "app", Value: []byte("shop")},
		}},
		{Topic: "dlq", Key: []byte("u3"), Value: []byte(`connect`), Timestamp: failed.Add(2 * time.Hour), Headers: []kgo.RecordHeader{
			{Key: "__connect.errors.topic", Value: []byte("clicks")},
			{Key: "__connect.errors.partition", Value: []byte("0")},
			{Key: "__connect.errors.offset", Value: []byte("9")},
			{Key: "__connect.errors.connector.name", Value: []byte("sink")},
			{Key: "__connect.errors.stage", Value: []byte("VALUE_CONVERTER")},
			{Key: "__connect.errors.exception.class.name", Value: []byte("org.apache.kafka.connect.errors.DataException")},
			{Key: "__connect.errors.exception.message", Value: []byte("Converting byte[] to Kafka Connect data failed")},
		}},
		{Topic: "dlq", Key: []byte("u4"), Value: []byte(`too often`), Timestamp: failed, Headers: append(nh[1:len(nh):len(nh)],
			kgo.RecordHeader{Key: dlq.HReplayCount, Value: []byte("3")})},
	}
}

func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	app := &cli.App{Name: "pipeline", Writer: &out, Commands: []*cli.Command{dlqCommand()}}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := app.RunContext(ctx, append([]string{"pipeline", "dlq"}, append(args, "--log-level", "none")...)); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out.String()
}

func TestCLIInspectReadsEveryDialect(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "dlq")
	kafkatest.Produce(t, broker, dlqRecords()...)
	var s dlq.Summary
	if err := json.Unmarshal([]byte(runCLI(t, "inspect", "--brokers", broker, "--topic", "dlq")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Total != 4 || s.Matched != 4 || s.Unreadable != 0 {
		t.Fatalf("summary %+v", s)
	}
	classes := map[string]int{}
	for _, c := range s.ByClass {
		classes[c.Value] = c.N
	}
	want := map[string]int{"validation": 2, "org.springframework.kafka.listener.ListenerExecutionFailedException": 1, "org.apache.kafka.connect.errors.DataException": 1}
	for k, n := range want {
		if classes[k] != n {
			t.Errorf("class %s: %d, want %d (%v)", k, classes[k], n, s.ByClass)
		}
	}
	if s.First != "2024-06-27T16:00:00Z" || s.Last != "2024-06-27T18:00:00Z" {
		t.Errorf("time range %s .. %s", s.First, s.Last)
	}
	if len(s.Samples) != 4 || s.Samples[1].Topic != "orders" || s.Samples[1].Offset != 42 {
		t.Errorf("samples %+v", s.Samples)
	}

	if err := json.Unmarshal([]byte(runCLI(t, "inspect", "--brokers", broker, "--topic", "dlq", "--error-contains", "byte[]")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Matched != 1 || s.Samples[0].Key != "u3" {
		t.Fatalf("filtered summary %+v", s)
	}
}

func TestCLIReplay(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "dlq", "clicks", "orders", "elsewhere")
	kafkatest.Produce(t, broker, dlqRecords()...)

	var st replayStats
	if err := json.Unmarshal([]byte(runCLI(t, "replay", "--brokers", broker, "--topic", "dlq", "--dry-run")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Replayed != 3 || st.Refused != 1 || !st.DryRun {
		t.Fatalf("dry run %+v", st)
	}
	// Each record is printed with what a replay would do with it.
	var lines []string
	for _, r := range st.Records {
		lines = append(lines, r.Key+" "+r.Outcome+" "+r.To+" "+r.Class+" "+r.Value+" "+r.Reason)
	}
	if want := []string{
		"u1 replay clicks validation {\"bad\":1} ",
		"u2 replay orders org.springframework.kafka.listener.ListenerExecutionFailedException spring ",
		"u3 replay clicks org.apache.kafka.connect.errors.DataException connect ",
		"u4 refused  validation too often replayed 3 times already (max_replays 3)",
	}; strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dry run records:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	for _, topic := range []string{"clicks", "orders"} {
		ends, err := endOffsets(context.Background(), broker, topic)
		if err != nil {
			t.Fatal(err)
		}
		for p, end := range ends {
			if end != 0 {
				t.Fatalf("the dry run wrote %d records to %s/%d", end, topic, p)
			}
		}
	}

	// Only the Spring record, by key, to an override topic.
	if err := json.Unmarshal([]byte(runCLI(t, "replay", "--brokers", broker, "--topic", "dlq", "--key", "u2", "--to", "elsewhere", "--rate", "100")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Replayed != 1 || st.Skipped != 3 {
		t.Fatalf("filtered replay %+v", st)
	}
	got := kafkatest.ConsumeN(t, broker, "elsewhere", 1, 20*time.Second)[0]
	h := kafkatest.Headers(got)
	if string(got.Value) != "spring" || string(got.Key) != "u2" || got.Timestamp.UnixMilli() != 1719500000000 ||
		len(h) != 2 || h["app"] != "shop" || h[dlq.HReplayCount] != "1" {
		t.Fatalf("replayed %q key %q ts %v headers %v", got.Value, got.Key, got.Timestamp, h)
	}

	// Everything else: native and Connect go back to clicks, u4 is refused.
	if err := json.Unmarshal([]byte(runCLI(t, "replay", "--brokers", broker, "--topic", "dlq", "--class", "validation,org.apache.kafka.connect.errors.DataException")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Replayed != 2 || st.Refused != 1 || st.Skipped != 1 {
		t.Fatalf("replay %+v", st)
	}
	recs := kafkatest.ConsumeN(t, broker, "clicks", 2, 20*time.Second)
	for _, r := range recs {
		for _, hd := range r.Headers {
			if dlq.IsEnvelopeKey(hd.Key) || strings.HasPrefix(hd.Key, "@") || strings.HasPrefix(hd.Key, "kafka_") {
				t.Errorf("%s: header %s survived the replay", r.Key, hd.Key)
			}
		}
		if kafkatest.Headers(r)[dlq.HReplayCount] != "1" {
			t.Errorf("%s: replay count %q", r.Key, kafkatest.Headers(r)[dlq.HReplayCount])
		}
	}
	if string(recs[0].Key) != "u1" || kafkatest.Headers(recs[0])["trace"] != "t1" || recs[0].Timestamp.UnixMilli() != 1719503023315 {
		t.Errorf("native replay: key %s headers %v ts %v", recs[0].Key, kafkatest.Headers(recs[0]), recs[0].Timestamp)
	}
	if string(recs[1].Key) != "u3" || string(recs[1].Value) != "connect" {
		t.Errorf("connect replay: %s %s", recs[1].Key, recs[1].Value)
	}
}

// Two runs at once each count their own topic: a run's processors reach it
// through closures on the run's own environment, nothing is shared.
func TestDLQRunsDoNotShareState(t *testing.T) {
	broker := kafkatest.Cluster(t, 1, "dlq-a", "dlq-b")
	recs := dlqRecords()
	for _, r := range recs {
		r.Topic = "dlq-a"
	}
	kafkatest.Produce(t, broker, recs...)
	one := dlqRecords()[0]
	one.Topic = "dlq-b"
	kafkatest.Produce(t, broker, one)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	totals := make([]int, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, topic := range []string{"dlq-a", "dlq-b"} {
		wg.Go(func() {
			s, err := dlqInspect(ctx, dlqOptions{Brokers: broker, Topic: topic, LogLevel: "none"})
			totals[i], errs[i] = s.Total, err
		})
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if totals[0] != 4 || totals[1] != 1 {
		t.Errorf("totals %v, want [4 1]", totals)
	}
}
