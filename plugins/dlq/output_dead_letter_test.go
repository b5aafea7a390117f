package dlq

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kgo"
)

const badEvent = `{"event_type":"login","user_id":"u1","timestamp":"yesterday"}`

const wantError = `event_type: not one of page_view, click ("login"); timestamp: not a timestamp ("yesterday")`

func pipelineYAML(broker, dialect string) string {
	return fmt.Sprintf(`
input:
  redpanda:
    seed_brokers: [ %[1]s ]
    topics: [ events ]
    consumer_group: clicks
pipeline:
  processors:
    - label: check_event
      validate:
        schema: |
          fields:
            event_type: {type: enum, values: [page_view, click]}
            user_id: {type: string}
            timestamp: {type: timestamp}
output:
  route_errors:
    output:
      redpanda: { seed_brokers: [ %[1]s ], topic: clean }
    dlq:
      dead_letter:
        header_dialect: %[2]s
        pipeline: clickstream
        consumer_group: clicks
        output:
          redpanda:
            seed_brokers: [ %[1]s ]
            topic: dlq
            key: '${! metadata("@key") }'
            timestamp_ms: '${! metadata("@timestamp_ms") }'
            metadata:
              include_patterns: [ '^[^@]' ]
`, broker, dialect)
}

func TestDeadLetterHeadersPerDialect(t *testing.T) {
	origTS := time.UnixMilli(1719503023315)
	be32 := func(n uint32) string { return string(binary.BigEndian.AppendUint32(nil, n)) }
	be64 := func(n uint64) string { return string(binary.BigEndian.AppendUint64(nil, n)) }
	validationErrors := `[{"path":"event_type","rule":"enum","message":"not one of page_view, click (\"login\")"},{"path":"timestamp","rule":"timestamp","message":"not a timestamp (\"yesterday\")"}]`
	cases := map[string]map[string]string{
		"native": {
			"dlq_error":                 wantError,
			"dlq_error_class":           "validation",
			"dlq_error_component":       "check_event",
			"dlq_original_topic":        "events",
			"dlq_original_partition":    "0",
			"dlq_original_offset":       "1",
			"dlq_original_timestamp_ms": "1719503023315",
			"dlq_consumer_group":        "clicks",
			"dlq_attempts":              "1",
			"dlq_validation_errors":     validationErrors,
			"dlq_pipeline":              "clickstream",
		},
		"kafka_connect": {
			"__connect.errors.topic":                "events",
			"__connect.errors.partition":            "0",
			"__connect.errors.offset":               "1",
			"__connect.errors.connector.name":       "clicks",
			"__connect.errors.task.id":              "0",
			"__connect.errors.stage":                "VALIDATION",
			"__connect.errors.class.name":           "check_event",
			"__connect.errors.exception.class.name": "validation",
			"__connect.errors.exception.message":    wantError,
			"dlq_original_timestamp_ms":             "1719503023315",
			"dlq_attempts":                          "1",
			"dlq_consumer_group":                    "clicks",
			"dlq_pipeline":                          "clickstream",
		},
		"spring": {
			"kafka_dlt-original-topic":          "events",
			"kafka_dlt-original-partition":      be32(0),
			"kafka_dlt-original-offset":         be64(1),
			"kafka_dlt-original-timestamp":      be64(1719503023315),
			"kafka_dlt-original-timestamp-type": "CreateTime",
			"kafka_dlt-original-consumer-group": "clicks",
			"kafka_dlt-exception-fqcn":          "validation",
			"kafka_dlt-exception-message":       wantError,
			"retry_topic-attempts":              be32(1),
			"dlq_error_component":               "check_event",
			"dlq_pipeline":                      "clickstream",
		},
	}
	for dialect, want := range cases {
		t.Run(dialect, func(t *testing.T) {
			broker := kafkatest.Cluster(t, 1, "events", "clean", "dlq")
			good := `{"event_type":"click","user_id":"u1","timestamp":"2024-06-27T15:43:43.315342"}`
			bin := string([]byte{0, 1, 0xff})
			kafkatest.Produce(t, broker,
				&kgo.Record{Topic: "events", Key: []byte("k0"), Value: []byte(good)},
				&kgo.Record{Topic: "events", Key: []byte("user-1"), Value: []byte(badEvent), Timestamp: origTS,
					Headers: []kgo.RecordHeader{{Key: "trace", Value: []byte("abc")}, {Key: "bin", Value: []byte(bin)}}},
			)
			before := time.Now().UnixMilli()
			kafkatest.RunStream(t, pipelineYAML(broker, dialect), logLevel)

			clean := kafkatest.ConsumeN(t, broker, "clean", 1, 20*time.Second)
			if string(clean[0].Value) != good {
				t.Fatalf("clean topic got %s", clean[0].Value)
			}
			got := kafkatest.ConsumeN(t, broker, "dlq", 1, 20*time.Second)[0]
			after := time.Now().UnixMilli()
			if string(got.Value) != badEvent || string(got.Key) != "user-1" || !got.Timestamp.Equal(origTS) {
				t.Fatalf("record value %q key %q ts %v", got.Value, got.Key, got.Timestamp)
			}
			h := kafkatest.Headers(got)
			if len(h) != len(got.Headers) {
				t.Fatalf("duplicated header keys: %v", got.Headers)
			}
			for _, k := range []string{"dlq_first_failure_ms", "dlq_last_failure_ms"} {
				n, err := strconv.ParseInt(h[k], 10, 64)
				if err != nil || n < before || n > after {
					t.Errorf("%s = %q, want a ms time in [%d, %d]", k, h[k], before, after)
				}
				delete(h, k)
			}
			want["trace"], want["bin"] = "abc", bin // original headers, bytes intact
			if !reflect.DeepEqual(h, want) {
				for k, v := range want {
					if h[k] != v {
						t.Errorf("header %s = %q, want %q", k, h[k], v)
					}
				}
				for k := range h {
					if _, ok := want[k]; !ok {
						t.Errorf("unexpected header %s = %q", k, h[k])
					}
				}
			}
			// The envelope decodes back to the same facts in every dialect.
			raw := map[string][]byte{}
			for _, hd := range got.Headers {
				raw[hd.Key] = hd.Value
			}
			e, d, err := Decode(raw)
			if err != nil || string(d) != dialect {
				t.Fatalf("decode: %v, dialect %q", err, d)
			}
			if e.Error != wantError || e.Class != "validation" || e.Topic != "events" || e.Partition != 0 || e.Offset != 1 ||
				e.ConsumerGroup != "clicks" || e.Attempts != 1 || e.Pipeline != "clickstream" || e.TimestampMs != 1719503023315 {
				t.Fatalf("decoded %+v", e)
			}
		})
	}
}
