package exact

import (
	"os"
	"strings"
	"testing"
	"time"
)

// repartitionJob windows by page over events keyed by user: the
// window_repartition input re-keys `events` into `events-by-page` in Kafka
// transactions, and window_kafka reads that topic, in the same process.
// The windows are the kit's, keyed by page (named `user` in the result, so
// the kit's reference and check apply to pages as keys). allowed_lateness
// covers the skew between source partitions the copy may introduce (the
// producer writes a 1 s chunk of event time per partition every Tick).
const repartitionJob = `
http:
  address: ${PIPELINE_HTTP_ADDRESS}

input:
  broker:
    inputs:
      - window_repartition:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events ]
          consumer_group: exact-rekey
          instance_id: ${INSTANCE_ID}-rekey
          topic: events-by-page
          key: '${! json("page").not_null() }'
          session_timeout: 10s
      - window_kafka:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events-by-page ]
          consumer_group: exact
          instance_id: ${INSTANCE_ID}
          session_timeout: 10s

buffer:
  window:
    timestamp_field: ts
    allowed_lateness: 10s
    idle_timeout: 3s
    windows:
      - { name: t10, type: tumbling, size: 10s, key_field: page, key_name: user, name_field: window,
          aggregates: [ { name: events, type: count }, { name: pages, type: count_distinct, field: page } ] }
      - { name: s30, type: session, gap: 30s, key_field: page, key_name: user, name_field: window,
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

// TestRepartitionByPageThroughKills windows the data by page, not by the
// Kafka key, through the repartition step, with two SIGKILLs of the job
// (both steps in one process): the re-key writes every event to the
// repartition topic exactly once (its open transaction is aborted, its
// offsets are committed with the writes), and the windows per page are
// exactly the reference's.
func TestRepartitionByPageThroughKills(t *testing.T) {
	e := NewEnv(t, WindowKafka, ShortData(13))
	if err := os.WriteFile(e.config, []byte(repartitionJob), 0o644); err != nil {
		t.Fatal(err)
	}
	// The reference per page: the kit's reference with pages as users.
	byPage := make([]Event, len(e.Data.Events))
	for i, ev := range e.Data.Events {
		ev.User = ev.Page
		byPage[i] = ev
	}
	e.Expected = Reference(byPage)
	t.Logf("reference by page: %d windows", len(e.Expected.Windows))

	in := e.StartInstance("exact-0")
	p := e.Produce()
	for _, at := range []time.Duration{70 * time.Second, 140 * time.Second} {
		p.WaitSent(at)
		in.Kill()
		t.Logf("SIGKILL at %v of event time, %d events sent", at, p.Sent())
		in.Restart(false)
	}
	p.Wait()
	e.Verify("repartition-kills", VerifyOptions{})

	// Every event is in the repartition topic once, keyed by its page.
	copies := Collect(t, e.Broker.Addr, "events-by-page", CollectOptions{WantKeys: 1, Quiet: 2 * time.Second, GiveUp: 5 * time.Second, Deadline: time.Minute})
	seen := map[string]int{}
	for _, r := range copies {
		seen[string(r.Value)]++
		if !strings.Contains(string(r.Value), `"page":"`+string(r.Key)+`"`) {
			t.Errorf("record keyed %q: %s", r.Key, r.Value)
		}
	}
	dups := 0
	for _, ev := range e.Data.Events {
		switch n := seen[string(ev.Value)]; {
		case n == 0:
			t.Errorf("event missing from the repartition topic: %s", ev.Value)
		case n > 1:
			dups++
		}
	}
	if dups > 0 || len(copies) != len(e.Data.Events) {
		t.Errorf("repartition topic: %d records for %d events, %d events more than once", len(copies), len(e.Data.Events), dups)
	}
}
