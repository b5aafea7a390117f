package source

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// A snapshot larger than a chunk comes back byte for byte, although another
// partition's snapshot is written to the same state partition in between,
// and Forget leaves tombstones for exactly its keys.
func TestStateStoreSavesLoadsAndForgetsChunkedSnapshots(t *testing.T) {
	addr := kafkatest.Cluster(t, 2, "clicks")
	in := &input{group: "g", topics: []string{"clicks"}, stateTopic: "g-window-state", stateEvery: time.Second,
		connOpts: []kgo.Opt{kgo.SeedBrokers(addr)}}
	scl := stateClient(t, addr)
	ctx := context.Background()
	n, err := in.ensureStateTopic(ctx, scl)
	if err != nil || n != 2 {
		t.Fatalf("ensureStateTopic = %d, %v; want 2 partitions (as clicks)", n, err)
	}
	cfg, err := kadm.NewClient(scl).DescribeTopicConfigs(ctx, in.stateTopic)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(describe(cfg), "cleanup.policy=compact ") {
		t.Fatalf("state topic configs %s: want cleanup.policy=compact", describe(cfg))
	}
	in.stateCl, in.stateParts = scl, n

	big := bytes.Repeat([]byte("0123456789abcdef"), stateChunkBytes/16*2+7) // 3 chunks
	p0 := in.snapshotsFor("clicks", 0).Store
	p2 := in.snapshotsFor("other", 2).Store // same state partition 0
	ref, err := p0.Save(ctx, 41, big[:len(big)/2])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Save(ctx, 7, []byte("other partition")); err != nil {
		t.Fatal(err)
	}
	ref2, err := p0.Save(ctx, 99, big)
	if err != nil {
		t.Fatal(err)
	}
	if ref2.Chunks != 3 || ref2.At != 99 || ref2.Partition != 0 {
		t.Fatalf("ref %+v: want 3 chunks of offsets below 99 in state partition 0", ref2)
	}
	got, err := p0.Load(ctx, ref2)
	if err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Load = %d bytes, %v; want the %d bytes saved", len(got), err, len(big))
	}
	got, err = p0.Load(ctx, ref)
	if err != nil || !bytes.Equal(got, big[:len(big)/2]) {
		t.Fatalf("Load of the older snapshot = %d bytes, %v; want %d", len(got), err, len(big)/2)
	}

	p0.Forget(ref)
	if err := scl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := kafkatest.ConsumeN(t, addr, in.stateTopic, ref.Chunks+1+ref2.Chunks+ref.Chunks, 10*time.Second)
	tomb := map[string]bool{}
	for _, r := range recs {
		if r.Value == nil {
			tomb[string(r.Key)] = true
		}
	}
	for i := 0; i < ref.Chunks; i++ {
		k := p0.(*stateStore).chunkKey(ref, i)
		if !tomb[k] {
			t.Fatalf("no tombstone for %s; tombstones: %v", k, tomb)
		}
	}
	if len(tomb) != ref.Chunks {
		t.Fatalf("tombstones %v: want only the %d of the forgotten snapshot", tomb, ref.Chunks)
	}
}

// Two owners of a partition (the one that handed it back, the one that took
// it over) may snapshot the same offset: forgetting the first one's leaves
// tombstones that spare the second one's records.
func TestStateStoreOwnersOfOneOffsetDoNotShareKeys(t *testing.T) {
	addr, in := oneStatePartition(t)
	ctx := context.Background()
	old, cur := in.snapshotsFor("clicks", 0).Store, in.snapshotsFor("clicks", 0).Store
	oldRef, err := old.Save(ctx, 5, []byte("old owner"))
	if err != nil {
		t.Fatal(err)
	}
	curRef, err := cur.Save(ctx, 5, []byte("new owner"))
	if err != nil {
		t.Fatal(err)
	}
	if oldRef.Owner == "" || oldRef.Owner == curRef.Owner {
		t.Fatalf("owners %q and %q: want two distinct ids", oldRef.Owner, curRef.Owner)
	}
	old.Forget(oldRef)
	if err := in.stateCl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := kafkatest.ConsumeN(t, addr, in.stateTopic, 3, 10*time.Second)
	curKey := cur.(*stateStore).chunkKey(curRef, 0)
	for _, r := range recs {
		if r.Value == nil && string(r.Key) == curKey {
			t.Fatalf("forgetting the old owner's snapshot tombstoned the new owner's key %s", curKey)
		}
	}
	if got, err := cur.Load(ctx, curRef); err != nil || string(got) != "new owner" {
		t.Fatalf("Load of the new owner's snapshot = %q, %v", got, err)
	}
}

// A snapshot written before owners existed (its keys have no owner part)
// still loads.
func TestStateStoreLoadsASnapshotWithoutOwner(t *testing.T) {
	_, in := oneStatePartition(t)
	st := in.snapshotsFor("clicks", 0).Store.(*stateStore)
	st.owner = "" // as an older version wrote it
	ref, err := st.Save(context.Background(), 9, []byte("before owners"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "g/clicks/0/9/0/1"; st.chunkKey(ref, 0) != want {
		t.Fatalf("key %s, want the older format %s", st.chunkKey(ref, 0), want)
	}
	if got, err := in.snapshotsFor("clicks", 0).Store.Load(context.Background(), ref); err != nil || string(got) != "before owners" {
		t.Fatalf("Load = %q, %v", got, err)
	}
}

// A snapshot whose records are gone is an error naming it, not a silent
// empty state.
func TestStateStoreLoadOfAMissingSnapshotFails(t *testing.T) {
	_, in := oneStatePartition(t)
	st := in.snapshotsFor("clicks", 0).Store
	ref, err := st.Save(context.Background(), 5, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	ref.At = 6 // no such snapshot
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := st.Load(ctx, ref); err == nil || !strings.Contains(err.Error(), "below 6") {
		t.Fatalf("Load of a missing snapshot: %v; want an error naming it", err)
	}
}

// oneStatePartition is an input of group g on topic clicks whose state
// topic, g-window-state, has one partition.
func oneStatePartition(t *testing.T) (addr string, in *input) {
	t.Helper()
	addr = kafkatest.Cluster(t, 1, "clicks", "g-window-state")
	in = &input{group: "g", topics: []string{"clicks"}, stateTopic: "g-window-state", stateEvery: time.Second,
		connOpts: []kgo.Opt{kgo.SeedBrokers(addr)}, stateParts: 1}
	in.stateCl = stateClient(t, addr)
	return addr, in
}

func describe(rcs kadm.ResourceConfigs) string {
	var b strings.Builder
	for _, rc := range rcs {
		for _, c := range rc.Configs {
			b.WriteString(c.Key + "=" + c.MaybeValue() + " ")
		}
	}
	return b.String()
}

// stateClient is a client as the input's state client: no automatic topic
// creation (the state topic must be created compacted) and records written
// to the partition they name.
func stateClient(t *testing.T, addr string) *kgo.Client {
	t.Helper()
	return kafkatest.ClientNoAutoTopics(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
}
