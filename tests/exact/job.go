package exact

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// Input names the job's Kafka source.
type Input string

const (
	// WindowKafka is the project's partition-aware source (issue 12, point
	// 3): the one the exactness contract is for.
	WindowKafka Input = "window_kafka"
	// Redpanda is Redpanda Connect's stock input, which the window buffer
	// still supports with weaker guarantees (issue 12, point 4).
	Redpanda Input = "redpanda"
)

// SelectedInput is the input the scenarios run: EXACT_INPUT
// (window_kafka, the default, or redpanda).
func SelectedInput(t testing.TB) Input {
	t.Helper()
	switch v := os.Getenv("EXACT_INPUT"); v {
	case "", string(WindowKafka):
		return WindowKafka
	case string(Redpanda):
		return Redpanda
	default:
		t.Fatalf("EXACT_INPUT=%q: want window_kafka or redpanda", v)
		return ""
	}
}

// inputBlocks are the job's input sections. Both read group `exact` from
// topic `events`; INSTANCE_ID, set per instance, gives static membership.
var inputBlocks = map[Input]string{
	WindowKafka: `
input:
  window_kafka:
    seed_brokers: [ "${KAFKA_BROKERS}" ]
    topics: [ events ]
    consumer_group: exact
    instance_id: ${INSTANCE_ID:}
    # A static member that stops keeps its partitions until this expires
    # (KIP-345: no leave on close), so scaling in waits this long.
    session_timeout: 10s
    # Snapshots of the window state every second (10 s of event time):
    # every scenario then resumes from snapshots as well as by replay.
    state_interval: ${STATE_INTERVAL:1s}
`,
	// The stock input as the window spec tells its users to configure it:
	// without the write-ahead log every event of an open window is
	// unacknowledged, so the checkpoint limit must cover a partition's
	// events over a session's life (the whole run here).
	Redpanda: `
input:
  redpanda:
    seed_brokers: [ "${KAFKA_BROKERS}" ]
    topics: [ events ]
    consumer_group: exact
    instance_id: ${INSTANCE_ID:}
    start_offset: earliest
    fetch_max_wait: 100ms
    unordered_processing:
      enabled: true
      checkpoint_limit: 1000000
`,
}

// jobRest is everything but the input: the windows the reference computes
// (reference.go) and the routes of results and late events.
const jobRest = `
http:
  address: ${PIPELINE_HTTP_ADDRESS}

buffer:
  window:
    timestamp_field: ts
    allowed_lateness: 2s
    idle_timeout: ${IDLE_TIMEOUT:3s}
    windows:
      - { name: t10, type: tumbling, size: 10s, key_field: user, key_name: user, name_field: window,
          aggregates: [ { name: events, type: count }, { name: pages, type: count_distinct, field: page } ] }
      - { name: s30, type: session, gap: 30s, key_field: user, key_name: user, name_field: window,
          aggregates: [ { name: events, type: count } ] }

output:
  switch:
    cases:
      - check: '@error_class == "late"'
        output: { redpanda: { seed_brokers: [ "${KAFKA_BROKERS}" ], topic: late, key: '${! @kafka_key }' } }
      - check: '!errored()'
        output: { redpanda: { seed_brokers: [ "${KAFKA_BROKERS}" ], topic: results, key: '${! @window_id }' } }
      - output: { reject: '${! error() }' }
`

// ResultsTopic and LateTopic are where the job writes.
const (
	ResultsTopic = "results"
	LateTopic    = "late"
)

// JobConfig is the scenarios' job with the given input.
func JobConfig(in Input) string {
	block, ok := inputBlocks[in]
	if !ok {
		panic(fmt.Sprintf("exact: no input block for %q", in))
	}
	return "# issue 12's exactness job (tests/exact), input " + string(in) + "\n" +
		strings.TrimLeft(block, "\n") + jobRest
}
