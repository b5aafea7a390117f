package exact

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// requireSnapshotCommits checks that snapshots of the window state (the
// input's state_topic, every STATE_INTERVAL=1s in these scenarios) bound
// the replay. It waits (up to 15 s) until every partition's commit
// names a snapshot of the window state and, where a session has been open
// for 40 s of event time or more, lies past that session's first event:
// without snapshots a partition's commit stays at or below the first event
// of its oldest open session. The producer goes on meanwhile (a pause would
// let partitions go idle), so the bound is taken from what was sent when
// the commits are read, counting only sessions still open 10 s of event
// time later, which makes it stricter.
func requireSnapshotCommits(t *testing.T, e *Env, p *Producer) {
	t.Helper()
	var committed map[int32]int64
	var bound map[int32]sessionStart
	var at time.Duration
	long := 0
	kafkatest.Every(15*time.Second, 100*time.Millisecond, func() bool {
		offs := kafkatest.FetchOffsets(t, e.Broker.Addr, "exact")
		sent := p.Sent()
		at = e.Data.Events[sent-1].SendAt
		bound = openSessionBound(e.Data, sent, e.Data.Opt.Start.Add(at+10*time.Second))
		committed, long = map[int32]int64{}, 0
		ok := true
		for part, b := range bound {
			if at-b.first >= 40*time.Second {
				long++
			}
			o, found := offs.Lookup(EventsTopic, part)
			if !found || !strings.Contains(o.Metadata, `"snap"`) {
				ok = false
				continue
			}
			committed[part] = o.At
			if at-b.first >= 40*time.Second && o.At <= b.offset {
				ok = false
			}
		}
		return ok && long > 0
	})
	for part, b := range bound {
		t.Logf("partition %d at %v of event time: committed %d; its oldest open session began %v earlier, at offset %d", part, at, committed[part], at-b.first, b.offset)
	}
	if long == 0 {
		t.Fatalf("at %v no partition has a session open for 40 s: the check would prove nothing", at)
	}
	for part, b := range bound {
		if o, ok := committed[part]; !ok || (at-b.first >= 40*time.Second && o <= b.offset) {
			t.Fatalf("partition %d: commit %d (names a snapshot: %v) not past offset %d, the first event of a session open for %v", part, o, ok, b.offset, at-b.first)
		}
	}
}

type sessionStart struct {
	first  time.Duration // event time of its first event, from the data's start
	offset int64         // that event's offset in its partition
}

// openSessionBound finds, per partition, the first event of the oldest
// session (gap SessionGap) that is still open at wm among the first sent
// events: a partition's records are the data set's events in order.
func openSessionBound(ds *Dataset, sent int, wm time.Time) map[int32]sessionStart {
	type ev struct {
		ts  time.Time
		off int64
	}
	offsets := map[int32]int64{}
	byUser := map[string][]ev{}
	part := map[string]int32{}
	for _, e := range ds.Events[:sent] {
		off := offsets[e.Partition]
		offsets[e.Partition]++
		if e.Late {
			continue
		}
		byUser[e.User] = append(byUser[e.User], ev{e.TS, off})
		part[e.User] = e.Partition
	}
	out := map[int32]sessionStart{}
	for u, evs := range byUser {
		sort.Slice(evs, func(i, j int) bool { return evs[i].ts.Before(evs[j].ts) })
		// The user's last session: back from the newest event while the
		// gaps stay under SessionGap.
		i := len(evs) - 1
		for i > 0 && evs[i].ts.Sub(evs[i-1].ts) < SessionGap {
			i--
		}
		last := evs[len(evs)-1].ts
		if !last.Add(SessionGap + 2*time.Second).After(wm) {
			continue // closed by wm
		}
		s := sessionStart{first: evs[i].ts.Sub(ds.Opt.Start), offset: evs[i].off}
		for _, x := range evs[i:] {
			s.offset = min(s.offset, x.off)
		}
		if b, ok := out[part[u]]; !ok || s.offset < b.offset {
			out[part[u]] = s
		}
	}
	return out
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(0, len(l)-lines):], "\n")
}
