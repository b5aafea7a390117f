package exact

import (
	"fmt"
	"math/rand"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TSLayout is how events carry their time: UTC, milliseconds, as producers
// usually write it.
const TSLayout = "2006-01-02T15:04:05.000Z"

// EventsTopic is the topic the job reads.
const EventsTopic = "events"

// GenOptions shape a data set. The zero value is not useful: start from
// ShortData or LongBacklogData.
type GenOptions struct {
	Seed              int64
	Partitions        int     // of the events topic
	UsersPerPartition int     // users are picked so every partition has this many
	BusyPartitions    int     // partitions 0..BusyPartitions-1 carry BusyFactor times the events
	BusyFactor        float64 // rate multiplier of the busy partitions' users
	Start             time.Time
	Span              time.Duration // event time covered
	// MeanInterval between two events of a quiet partition's user while it
	// is active; users alternate active stretches (15-90 s) and pauses
	// (5-70 s), so some session gaps are under 30 s and some over.
	MeanInterval time.Duration
	// Disorder bounds how far an event may be behind the newest event
	// already sent on its partition; keep it under allowed_lateness so that
	// no event is late unless made so.
	Disorder time.Duration
	// Late is the number of deliberately late events: an hour behind the
	// newest event of their partition when they are sent.
	Late  int
	Pages int
}

// ShortData is the data set of the CI scenarios: about 200 s of event time
// over 48 users on 6 partitions (two of them 5x busier), ~1,800 events.
func ShortData(seed int64) GenOptions {
	return GenOptions{
		Seed: seed, Partitions: 6, UsersPerPartition: 8, BusyPartitions: 2, BusyFactor: 5,
		Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Span: 200 * time.Second,
		MeanInterval: 7500 * time.Millisecond, Disorder: time.Second, Late: 5, Pages: 8,
	}
}

// Event is one produced record and what the test knows about it.
type Event struct {
	Partition int32
	User      string
	TS        time.Time
	Page      string
	Value     []byte
	// Late events are an hour behind their partition: their fate is the
	// late topic, never a window.
	Late bool
	// SendAt is the event-time offset from Start at which the producer
	// sends it: TS plus a jitter below Disorder (late events: the SendAt of
	// the event they follow). A partition's events are sent in SendAt
	// order, so none is Disorder or more behind an earlier one.
	SendAt time.Duration
}

// Dataset is a generated set of events in send order (by SendAt; per
// partition that is the order of the partition's records).
type Dataset struct {
	Opt    GenOptions
	Events []Event
	Users  []string
}

// Generate builds the data set of o; the same options give the same data.
func Generate(o GenOptions) *Dataset {
	rng := rand.New(rand.NewSource(o.Seed))
	ds := &Dataset{Opt: o}
	perPartition := make([][]Event, o.Partitions)
	for p, users := range usersByPartition(o.Partitions, o.UsersPerPartition) {
		factor := 1.0
		if p < o.BusyPartitions {
			factor = o.BusyFactor
		}
		mean := time.Duration(float64(o.MeanInterval) / factor)
		for _, u := range users {
			ds.Users = append(ds.Users, u)
			perPartition[p] = append(perPartition[p], userEvents(rng, o, int32(p), u, mean)...)
		}
	}
	for p := range perPartition {
		evs := perPartition[p]
		sort.SliceStable(evs, func(i, j int) bool { return evs[i].SendAt < evs[j].SendAt })
		perPartition[p] = evs
	}
	addLateEvents(rng, o, perPartition)
	for _, evs := range perPartition {
		ds.Events = append(ds.Events, evs...)
	}
	sort.SliceStable(ds.Events, func(i, j int) bool { return ds.Events[i].SendAt < ds.Events[j].SendAt })
	for i := range ds.Events {
		e := &ds.Events[i]
		e.Value = fmt.Appendf(nil, `{"user":%q,"ts":%q,"page":%q}`, e.User, e.TS.Format(TSLayout), e.Page)
	}
	return ds
}

// usersByPartition names users u0, u1, ... and keeps the first n that the
// Kafka default key partitioner (murmur2, as the Java client) puts on each
// partition, so the data is what any keyed producer would write.
func usersByPartition(partitions, n int) [][]string {
	part := kgo.StickyKeyPartitioner(nil).ForTopic(EventsTopic)
	out := make([][]string, partitions)
	for i, full := 0, 0; full < partitions; i++ {
		u := fmt.Sprintf("u%d", i)
		p := part.Partition(&kgo.Record{Key: []byte(u)}, partitions)
		if len(out[p]) < n {
			out[p] = append(out[p], u)
			if len(out[p]) == n {
				full++
			}
		}
	}
	return out
}

// userEvents alternates active stretches and pauses for one user.
func userEvents(rng *rand.Rand, o GenOptions, p int32, user string, mean time.Duration) []Event {
	var out []Event
	at := time.Duration(rng.Int63n(int64(20 * time.Second)))
	for at < o.Span {
		end := at + 15*time.Second + time.Duration(rng.Int63n(int64(75*time.Second)))
		for ; at < end && at < o.Span; at += max(50*time.Millisecond, time.Duration(rng.ExpFloat64()*float64(mean))) {
			ts := o.Start.Add(at).Truncate(time.Millisecond)
			out = append(out, Event{
				Partition: p, User: user, TS: ts,
				Page:   fmt.Sprintf("/p%d", rng.Intn(o.Pages)),
				SendAt: ts.Sub(o.Start) + time.Duration(rng.Int63n(int64(o.Disorder))),
			})
		}
		at += 5*time.Second + time.Duration(rng.Int63n(int64(65*time.Second)))
	}
	return out
}

// addLateEvents inserts o.Late events, each right after a random event in
// the middle of a random partition and stamped an hour before the newest
// event sent on that partition so far.
func addLateEvents(rng *rand.Rand, o GenOptions, perPartition [][]Event) {
	for n := 0; n < o.Late; n++ {
		p := rng.Intn(len(perPartition))
		evs := perPartition[p]
		if len(evs) < 10 {
			continue
		}
		k := len(evs)/5 + rng.Intn(len(evs)*3/5)
		newest := evs[0].TS
		for _, e := range evs[:k+1] {
			if e.TS.After(newest) && !e.Late {
				newest = e.TS
			}
		}
		late := Event{
			Partition: int32(p), User: evs[k].User, TS: newest.Add(-time.Hour),
			Page: fmt.Sprintf("/p%d", rng.Intn(o.Pages)), Late: true, SendAt: evs[k].SendAt,
		}
		perPartition[p] = append(evs[:k+1:k+1], append([]Event{late}, evs[k+1:]...)...)
	}
}

// OnTime counts the events that are not deliberately late.
func (ds *Dataset) OnTime() int {
	n := 0
	for _, e := range ds.Events {
		if !e.Late {
			n++
		}
	}
	return n
}

// SendSpan is the event-time offset of the last send.
func (ds *Dataset) SendSpan() time.Duration {
	if len(ds.Events) == 0 {
		return 0
	}
	return ds.Events[len(ds.Events)-1].SendAt
}
