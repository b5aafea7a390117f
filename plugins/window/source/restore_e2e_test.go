package source_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/plugins/window/partition"
)

// A restart whose snapshots cannot be read at first (the state topic
// refuses its first fetches) still completes every window exactly: each
// partition waits for its snapshot, retried, instead of windowing later
// batches without the earlier ones.
func TestRestartWithAnUnreadableStateTopicIsExact(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.SeedTopics(3, topic))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	addr := c.ListenAddrs()[0]
	const group, stateTopic = "g-restore", "g-restore-window-state"
	all := events(0, 900, 10)
	sent := 0
	produce(t, addr, all[:60])
	sent = 60

	var r results
	stop := startJobWith(t, addr, group, "1h", "  state_interval: 100ms\n", &r)
	// Events keep coming (snapshots are taken after batches, an interval
	// apart) until every partition's commit names a snapshot of its open
	// windows: the restart must load them.
	kafkatest.Eventually(t, 30*time.Second, "commits naming snapshots", func() bool {
		if sent < 600 {
			produce(t, addr, all[sent:sent+10])
			sent += 10
		}
		rs := committedResumesNow(t, addr, group)
		for _, rs := range rs {
			if rs.Snap == nil {
				return false
			}
		}
		return len(rs) == 3
	})
	stop()

	cl := kafkatest.Client(t, addr)
	tds, err := kadm.NewClient(cl).ListTopics(context.Background(), stateTopic)
	if err != nil || !tds.Has(stateTopic) {
		t.Fatalf("state topic %s: %v", stateTopic, err)
	}
	stateID := tds[stateTopic].ID
	var mu sync.Mutex
	refused := 0
	const refuse = 4
	c.ControlKey(int16(kmsg.Fetch), func(req kmsg.Request) (kmsg.Response, error, bool) {
		fr := req.(*kmsg.FetchRequest)
		resp := fr.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range fr.Topics {
			if rt.Topic != stateTopic && rt.TopicID != stateID {
				return nil, nil, false
			}
			t := kmsg.NewFetchResponseTopic()
			t.Topic, t.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition = rp.Partition
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		mu.Lock()
		defer mu.Unlock()
		if refused >= refuse {
			return nil, nil, false
		}
		refused++
		c.KeepControl()
		return resp, nil, true
	})

	produce(t, addr, all[sent:])
	startJobWith(t, addr, group, "500ms", "  state_interval: 100ms\n", &r)
	want := expected(all)
	kafkatest.Eventually(t, 60*time.Second, "every window", func() bool { return r.windows() >= len(want) })
	mu.Lock()
	n := refused
	mu.Unlock()
	if n != refuse {
		t.Fatalf("the state topic refused %d fetches, want %d: the restart did not read the snapshots through it", n, refuse)
	}
	r.check(t, want)
}

// committedResumesNow is committedResumes that returns what is committed so
// far (nothing on an error) instead of failing.
func committedResumesNow(t *testing.T, addr, group string) map[int32]partition.Resume {
	t.Helper()
	out := map[int32]partition.Resume{}
	committedNow(t, addr, group).Each(func(o kadm.OffsetResponse) {
		if r, err := partition.DecodeResume(o.Metadata); err == nil {
			out[o.Partition] = r
		}
	})
	return out
}
