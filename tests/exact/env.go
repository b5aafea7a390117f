package exact

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

// Speed is how much faster than the wall clock event time runs while a
// scenario produces: 10 s of event time per wall second, so 10 s windows
// close every wall second and 30 s session gaps take 3 s.
const Speed = 10

// Tick is the producer's chunk interval, far below idle_timeout (3 s), so
// no partition goes quiet before the end.
const Tick = 100 * time.Millisecond

// Env is one scenario's world: a broker process, the events topic
// (partitions as the data set says), the job's config with the input under
// test, its instances, the data set and the reference's expectation.
type Env struct {
	t        testing.TB
	Broker   *harness.BrokerProcess
	Input    Input
	Data     *Dataset
	Expected *Expected
	config   string

	instances map[string]*Instance
}

// NewEnv starts a broker process, creates the topics and writes the job's
// config for input in.
func NewEnv(t testing.TB, in Input, o GenOptions) *Env {
	t.Helper()
	e := &Env{t: t, Input: in, Data: Generate(o), instances: map[string]*Instance{}}
	e.Expected = Reference(e.Data.Events)
	e.Broker = harness.StartBrokerProcess(t)
	harness.CreateTopics(t, e.Broker.Addr, int32(o.Partitions), EventsTopic)
	harness.CreateTopics(t, e.Broker.Addr, 3, ResultsTopic, LateTopic)
	e.config = filepath.Join(t.TempDir(), "exact.yaml")
	if err := os.WriteFile(e.config, []byte(JobConfig(in)), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("input %s; data: %d events (%d deliberately late) of %d users on %d partitions over %v of event time; expected %d windows",
		in, len(e.Data.Events), len(e.Expected.Late), len(e.Data.Users), o.Partitions, o.Span, len(e.Expected.Windows))
	return e
}

// Instance returns the job instance with INSTANCE_ID id, creating it (not
// started) with its own local disk the first time.
func (e *Env) Instance(id string) *Instance {
	if in := e.instances[id]; in != nil {
		return in
	}
	in := newInstance(e.t, id, e.config, e.Broker.Addr)
	e.instances[id] = in
	return in
}

// StartInstance starts the instance id and waits until it is ready.
func (e *Env) StartInstance(id string) *Instance {
	e.t.Helper()
	in := e.Instance(id)
	in.Start()
	return in
}

// Produce starts writing the data set over time (Speed, Tick).
func (e *Env) Produce() *Producer {
	return StartProducer(e.t, e.Broker.Addr, e.Data, Speed, Tick)
}

// anyRunning tells whether an instance of the job is up.
func (e *Env) anyRunning() bool {
	for _, in := range e.instances {
		if in.Running() {
			return true
		}
	}
	return false
}

// VerifyOptions bound how long Verify waits for the results.
type VerifyOptions struct {
	// GiveUp: stop reading after this long without a new result record
	// although windows are missing (default 20 s: idle_timeout closes the
	// last windows 3 s after the input went quiet). A scenario in which
	// partitions wait for a dead member's session to expire needs longer.
	GiveUp   time.Duration
	Deadline time.Duration // default 3 min
}

// Verify reads the results and late topics once the job is done with the
// data, compares them with the reference, logs the scenario's figures and
// fails the test listing every difference. Call it after the producer
// finished.
func (e *Env) Verify(scenario string, o VerifyOptions) *Report {
	e.t.Helper()
	if o.GiveUp == 0 {
		o.GiveUp = 20 * time.Second
	}
	if o.Deadline == 0 {
		o.Deadline = 3 * time.Minute
	}
	began := time.Now()
	results := Collect(e.t, e.Broker.Addr, ResultsTopic, CollectOptions{
		WantKeys: len(e.Expected.Windows), Quiet: 4 * time.Second, GiveUp: o.GiveUp, Deadline: o.Deadline, Alive: e.anyRunning,
	})
	late := Collect(e.t, e.Broker.Addr, LateTopic, CollectOptions{
		WantKeys: len(e.Expected.Late), Quiet: time.Second, GiveUp: 3 * time.Second, Deadline: 30 * time.Second,
	})
	e.checkEventsTopic()
	r := Check(e.Data, e.Expected, results, late)
	var last time.Time
	for _, rec := range results {
		if rec.Timestamp.After(last) {
			last = rec.Timestamp
		}
	}
	e.t.Logf("scenario %s, input %s: %s (last result written %v after Verify began, read until %v)", scenario, e.Input, r.Summary(),
		last.Sub(began).Round(100*time.Millisecond), time.Since(began).Round(100*time.Millisecond))
	if r.Failed() {
		e.t.Errorf("scenario %s, input %s: the results differ from the reference:\n%s\n%s", scenario, e.Input, r.Summary(), r.Details(60))
	}
	return r
}

// checkEventsTopic makes sure the input is what the reference was computed
// from: the events topic holds exactly the generated events (the test's
// producer neither lost nor duplicated one, a broker restart kept them
// all). Otherwise a difference in the results would not be the job's.
func (e *Env) checkEventsTopic() {
	e.t.Helper()
	if total := eventsTopicRecords(e.t, e.Broker.Addr); total != int64(len(e.Data.Events)) {
		e.t.Errorf("topic %s holds %d records, the data set has %d events: the test's input is not the reference's", EventsTopic, total, len(e.Data.Events))
	}
}

// eventsTopicRecords is how many records the events topic holds: the sum of
// its partitions' end offsets (nothing is deleted from it).
func eventsTopicRecords(t testing.TB, addr string) int64 {
	t.Helper()
	var total int64
	for _, end := range kafkatest.EndOffsets(t, addr, EventsTopic) {
		total += end
	}
	return total
}
