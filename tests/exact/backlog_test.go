package exact

import (
	"testing"
	"time"
)

// BacklogData is ShortData over an hour of event time (~33,000 events),
// for a backlog consumed at full speed.
func BacklogData(seed int64) GenOptions {
	o := ShortData(seed)
	o.Span = time.Hour
	o.Late = 20
	return o
}

// TestBacklog produces an hour of events on 6 partitions with skewed rates
// before the job starts, then starts one instance, which reads them as
// fast as it can: partitions that are behind must never be taken for idle,
// so the results are those of a calm run whatever the fetch interleaving.
func TestBacklog(t *testing.T) {
	e := NewEnv(t, SelectedInput(t), BacklogData(9))
	ProduceAll(t, e.Broker.Addr, e.Data)
	began := time.Now()
	e.StartInstance("exact-0")
	r := e.Verify("backlog", VerifyOptions{})
	t.Logf("backlog of %d events: results complete %v after the start", r.Produced, time.Since(began).Round(100*time.Millisecond))
}
