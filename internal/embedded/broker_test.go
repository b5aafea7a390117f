package embedded

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

func TestRecordsAndCommittedOffsetsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for range 10 {
		recs = append(recs, kafkatest.KV("", "v"))
	}
	// The topic is created on first use, as an application's producer does.
	kafkatest.ProduceByKey(t, b.Addr(), "persisted", recs...)
	consumeN(t, ctx, b.Addr(), 4, true)
	b.Close()

	b2, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	// 6 left after the committed 4: proves both records and offsets survived.
	got := consumeN(t, ctx, b2.Addr(), -1, false)
	if got != 6 {
		t.Fatalf("after restart the group read %d records, want the 6 not committed before", got)
	}
}

// consumeN reads n records in group g and commits them, or with n < 0 reads
// until the topic is quiet and returns how many it saw. Its member leaves
// the group when consumeN returns (not when the test ends), so the
// restarted broker has no member to wait for.
func consumeN(t *testing.T, ctx context.Context, addr string, n int, commit bool) int {
	t.Helper()
	cl, err := kafkatest.NewClient(addr, kgo.ConsumerGroup("g"), kgo.ConsumeTopics("persisted"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var recs []*kgo.Record
	for n < 0 || len(recs) < n {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollRecords(pctx, n-len(recs))
		cancel()
		if n < 0 && len(fs.Records()) == 0 && len(recs) > 0 {
			break
		}
		recs = append(recs, fs.Records()...)
		if ctx.Err() != nil {
			t.Fatalf("timed out with %d records", len(recs))
		}
	}
	if commit {
		if err := cl.CommitRecords(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	return len(recs)
}

func TestPortInUseSaysWhatToDo(t *testing.T) {
	b, err := Start(Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, port := splitPort(t, b.Addr())
	_, err = Start(Options{InMemory: true, Port: port})
	if !errors.Is(err, ErrPortInUse) {
		t.Fatalf("err = %v, want ErrPortInUse", err)
	}
	for _, want := range []string{"KAFKA_BROKERS=", "--broker-port"} {
		if !contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

func TestDescribeNamesAddressAndDataDir(t *testing.T) {
	dir := t.TempDir()
	b, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d := b.Describe()
	for _, want := range []string{b.Addr(), dir, "KAFKA_BROKERS"} {
		if !contains(d, want) {
			t.Errorf("Describe() = %q, missing %q", d, want)
		}
	}
}

// A second broker on a data directory that a running one owns would rewrite
// its files: it must refuse, naming the directory, and the directory is free
// again once the first one stopped.
func TestDataDirIsLockedWhileABrokerRuns(t *testing.T) {
	dir := t.TempDir()
	first, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(Options{DataDir: dir})
	if !errors.Is(err, ErrDataDirInUse) || !contains(err.Error(), dir) || !contains(err.Error(), "--data-dir") {
		t.Fatalf("second broker on %s: %v, want ErrDataDirInUse naming the directory and --data-dir", dir, err)
	}
	first.Close()
	again, err := Start(Options{DataDir: dir})
	if err != nil {
		t.Fatalf("after the first broker stopped: %v", err)
	}
	again.Close()
}
