package exact

import (
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/streamkit/pipeline/tests/harness"
)

// copartitionedRetryJob is retryJob with the retry topics consumed by
// window_kafka itself (retry_topics, co-partitioned with `events`: the
// router writes each copy to its event's partition), so a retried event
// comes back to whichever instance owns its partition.
var copartitionedRetryJob = strings.NewReplacer(
	`      - window_kafka:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events ]
          consumer_group: exact
          instance_id: ${INSTANCE_ID:}
          session_timeout: 10s
      - retry_topics:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events-retry-1, events-retry-2, events-retry-3 ]
          consumer_group: exact-retry
          instance_id: ${INSTANCE_ID:}
        processors:
          - mapping: |
              meta kafka_topic = @retry_original_topic
              meta kafka_partition = @retry_original_partition
              meta kafka_offset = deleted()
`, `      - window_kafka:
          seed_brokers: [ "${KAFKA_BROKERS}" ]
          topics: [ events ]
          retry_topics: [ events-retry-1, events-retry-2, events-retry-3 ]
          consumer_group: exact
          instance_id: ${INSTANCE_ID:}
          session_timeout: 10s
`,
	`    delays: [ 1s, 1s, 1s ]
`, `    delays: [ 1s, 1s, 1s ]
    copartition: true
`).Replace(retryJob)

// TestRetryLadderScaleOutAndIn is the retry ladder (enrichment failing a
// fifth of its calls) while instances join and leave: 1 -> 3 at 65 s of
// event time, 3 -> 1 at 135 s with one of the two killed. Copies of a
// partition's events are read by the partition's owner, so every window
// is still the reference's (without the dead letters).
func TestRetryLadderScaleOutAndIn(t *testing.T) {
	if !strings.Contains(copartitionedRetryJob, "retry_topics: [ events-retry-1") || !strings.Contains(copartitionedRetryJob, "copartition: true") {
		t.Fatal("copartitionedRetryJob: retryJob changed, the replacements no longer apply")
	}
	e := NewEnv(t, WindowKafka, ShortData(17))
	// Co-partitioned: as many partitions as events.
	harness.CreateTopics(t, e.Broker.Addr, 6, "events-retry-1", "events-retry-2", "events-retry-3")
	harness.CreateTopics(t, e.Broker.Addr, 3, "dlq")
	if err := os.WriteFile(e.config, []byte(copartitionedRetryJob), 0o644); err != nil {
		t.Fatal(err)
	}
	profiles := httptest.NewServer(profileservice.New(profileservice.Options{FailRate: 0.2, Seed: 17}))
	t.Cleanup(profiles.Close)
	for _, id := range []string{"exact-0", "exact-1", "exact-2"} {
		e.Instance(id).env = append(e.Instance(id).env, "PROFILE_URL="+profiles.URL)
	}
	e.Instance("exact-0").Start()
	p := e.Produce()
	p.WaitSent(65 * time.Second)
	e.Instance("exact-1").Start()
	e.Instance("exact-2").Start()
	owners := e.WaitAssigned(30*time.Second, "exact-0", "exact-1", "exact-2")
	t.Logf("1 -> 3 instances at 65s of event time (%s), %d events sent", owners, p.Sent())
	p.WaitSent(135 * time.Second)
	e.Instance("exact-1").Stop()
	e.Instance("exact-2").Kill()
	t.Logf("3 -> 1 instances at 135s of event time (exact-2 killed), %d events sent", p.Sent())
	owners = e.WaitAssigned(90*time.Second, "exact-0")
	t.Logf("exact-0 owns every partition again (%s)", owners)
	p.Wait()

	// The ladder was used, and every copy went to its event's partition.
	copies := Collect(t, e.Broker.Addr, "events-retry-1", CollectOptions{Quiet: time.Second, GiveUp: 2 * time.Second, Deadline: 30 * time.Second})
	if len(copies) < len(e.Data.Events)/10 {
		t.Errorf("%d records in events-retry-1 for %d events with a fifth of the calls failing: the ladder was hardly used", len(copies), len(e.Data.Events))
	}
	for _, r := range copies {
		if got := harness.Header(r, "retry_original_partition"); got != strconv.Itoa(int(r.Partition)) {
			t.Errorf("copy in events-retry-1/%d of an event of partition %s: not co-partitioned", r.Partition, got)
			break
		}
	}
	t.Logf("%d copies in events-retry-1", len(copies))

	e.ExpectWithoutDeadLetters("dlq")
	e.Verify("retry-ladder-scale-1-3-1-crash", VerifyOptions{})
}
