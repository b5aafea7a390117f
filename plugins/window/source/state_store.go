package source

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/plugins/window/partition"
)

// The state topic (fields state_topic, state_interval) holds snapshots of
// the partitions' window state (package partition, state.go). A snapshot is
// split into chunks of at most stateChunkBytes, written as consecutive
// records of one state partition, each keyed
// "<group>/<topic>/<partition>/<at>/<owner>/<index>/<chunks>" so that
// snapshots of different partitions, groups, offsets and owners (a random
// id per assignment) never share a key: the topic is compacted, and a
// snapshot no commit names any more is deleted with tombstones for its keys
// (Forget). Snapshots written before owners existed have no owner part.

// stateChunkBytes stays well under the brokers' default max.message.bytes
// (1 MiB) and the client's default batch size.
const stateChunkBytes = 256 << 10

// stateStore keeps the snapshots of one source partition.
type stateStore struct {
	cl     *kgo.Client // the input's state client (manual partitioner)
	conn   []kgo.Opt   // to read snapshots back on a client of their own
	topic  string
	prefix string // "<group>/<topic>/<partition>/"
	part   int32  // the state topic's partition the snapshots go to
	owner  string // this assignment's id (SnapshotRef.Owner)
}

// snapshotKey is what the keys of a snapshot's chunks begin with.
func (s *stateStore) snapshotKey(at int64, owner string) string {
	k := s.prefix + strconv.FormatInt(at, 10) + "/"
	if owner != "" {
		k += owner + "/"
	}
	return k
}

func (s *stateStore) chunkKey(ref partition.SnapshotRef, i int) string {
	return s.snapshotKey(ref.At, ref.Owner) + strconv.Itoa(i) + "/" + strconv.Itoa(ref.Chunks)
}

// Save implements partition.StateStore.
func (s *stateStore) Save(ctx context.Context, at int64, data []byte) (partition.SnapshotRef, error) {
	n := max(1, (len(data)+stateChunkBytes-1)/stateChunkBytes)
	ref := partition.SnapshotRef{At: at, Partition: s.part, Chunks: n, Owner: s.owner}
	recs := make([]*kgo.Record, n)
	for i := range recs {
		lo, hi := i*stateChunkBytes, min(len(data), (i+1)*stateChunkBytes)
		recs[i] = &kgo.Record{Topic: s.topic, Partition: s.part, Key: []byte(s.chunkKey(ref, i)), Value: data[lo:hi]}
	}
	res := s.cl.ProduceSync(ctx, recs...)
	if err := res.FirstErr(); err != nil {
		return partition.SnapshotRef{}, fmt.Errorf("writing a snapshot of %s to %s: %w", strings.TrimSuffix(s.prefix, "/"), s.topic, err)
	}
	ref.Offset = recs[0].Offset
	for _, r := range recs {
		ref.Offset = min(ref.Offset, r.Offset)
	}
	return ref, nil
}

// Load implements partition.StateStore: it reads the state partition from
// the snapshot's first offset until it has every chunk.
func (s *stateStore) Load(ctx context.Context, ref partition.SnapshotRef) ([]byte, error) {
	what := fmt.Sprintf("%s of %s in %s", ref, strings.TrimSuffix(s.prefix, "/"), s.topic)
	if ref.Chunks < 1 {
		return nil, fmt.Errorf("loading the %s: no chunks", what)
	}
	cl, err := kgo.NewClient(append(append([]kgo.Opt(nil), s.conn...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
			s.topic: {ref.Partition: kgo.NewOffset().At(ref.Offset)},
		}),
		kgo.FetchMaxPartitionBytes(4<<20))...)
	if err != nil {
		return nil, fmt.Errorf("loading the %s: %w", what, err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	chunks := make([][]byte, ref.Chunks)
	have := 0
	key := s.snapshotKey(ref.At, ref.Owner)
	for have < ref.Chunks {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil, fmt.Errorf("loading the %s: %d of %d chunks read: %w", what, have, ref.Chunks, ctx.Err())
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil && !errors.Is(ferr, context.Canceled) {
			return nil, fmt.Errorf("loading the %s: %w", what, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			rest, ok := strings.CutPrefix(string(r.Key), key)
			if !ok || r.Value == nil {
				return
			}
			is, ns, _ := strings.Cut(rest, "/")
			i, err1 := strconv.Atoi(is)
			n, err2 := strconv.Atoi(ns)
			if err1 != nil || err2 != nil || n != ref.Chunks || i < 0 || i >= n || chunks[i] != nil {
				return
			}
			chunks[i] = r.Value
			have++
		})
	}
	size := 0
	for _, c := range chunks {
		size += len(c)
	}
	data := make([]byte, 0, size)
	for _, c := range chunks {
		data = append(data, c...)
	}
	return data, nil
}

// Forget implements partition.StateStore: tombstones, written in the
// background; a lost one leaves a record compaction never removes, which
// costs space, not correctness.
func (s *stateStore) Forget(ref partition.SnapshotRef) {
	for i := 0; i < ref.Chunks; i++ {
		s.cl.Produce(context.Background(), &kgo.Record{Topic: s.topic, Partition: ref.Partition,
			Key: []byte(s.chunkKey(ref, i))}, nil)
	}
}

// ensureStateTopic creates the state topic, compacted, with as many
// partitions as the first source topic (snapshots of partition n go to
// partition n modulo the count), if it does not exist; it returns the
// topic's partition count.
func (in *input) ensureStateTopic(ctx context.Context, cl *kgo.Client) (int32, error) {
	adm := kadm.NewClient(cl)
	td, err := adm.ListTopics(ctx, in.stateTopic, in.topics[0])
	if err != nil {
		return 0, fmt.Errorf("window_kafka: listing topics: %w", err)
	}
	if d, ok := td[in.stateTopic]; ok && d.Err == nil {
		return int32(len(d.Partitions)), nil
	}
	parts := int32(1)
	if d, ok := td[in.topics[0]]; ok && d.Err == nil && len(d.Partitions) > 0 {
		parts = int32(len(d.Partitions))
	}
	policy := "compact"
	resp, err := adm.CreateTopic(ctx, parts, -1, map[string]*string{"cleanup.policy": &policy}, in.stateTopic)
	if err == nil {
		err = resp.Err
	}
	if errors.Is(err, kerr.TopicAlreadyExists) {
		// Another instance created it meanwhile, with the same count.
		return parts, nil
	}
	if err != nil {
		return 0, fmt.Errorf("field %s: creating %s (compacted, %d partitions): %w", fStateTopic, in.stateTopic, parts, err)
	}
	if in.log != nil {
		in.log.Infof("window_kafka: created state topic %s (compacted, %d partitions)", in.stateTopic, parts)
	}
	return parts, nil
}

// snapshotsFor returns the snapshot settings of a newly assigned partition.
func (in *input) snapshotsFor(topic string, id int32) partition.Snapshots {
	if in.stateCl == nil || in.stateParts < 1 {
		return partition.Snapshots{}
	}
	return partition.Snapshots{Every: in.stateEvery, Store: &stateStore{
		cl: in.stateCl, conn: in.connOpts, topic: in.stateTopic,
		prefix: in.group + "/" + topic + "/" + strconv.Itoa(int(id)) + "/",
		part:   id % in.stateParts,
		owner:  ownerID(),
	}}
}

// ownerID is a random id for one assignment of a partition.
func ownerID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
