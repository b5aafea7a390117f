package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
)

// trackAPI is a running configs/track_api.yaml.
type trackAPI struct {
	url   string // http://.../track
	ready string // the service's own /ready
	p     *harness.Process
}

func startTrackAPIWith(t *testing.T, brokers string, env ...string) trackAPI {
	t.Helper()
	addr, httpAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	p := harness.Start(t, "", append([]string{"KAFKA_BROKERS=" + brokers, "TRACK_API_ADDRESS=" + addr,
		"PIPELINE_HTTP_ADDRESS=" + httpAddr}, env...), "-c", trackAPIConfig)
	p.WaitForOutput(t, "Receiving /track requests at: http://"+addr+"/track", 20*time.Second)
	p.WaitForOutput(t, "Listening for HTTP requests at: http://"+httpAddr, 20*time.Second)
	return trackAPI{url: "http://" + addr + "/track", ready: "http://" + httpAddr + "/ready", p: p}
}

// post sends body with headers (name, value pairs) and returns the status,
// the body and the response headers; status -1 when the request failed.
func post(url, body string, headers ...string) (int, string, http.Header) {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		return -1, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func httpStatus(url string) int {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		return -1
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitStatus polls url until it answers want.
func waitStatus(t *testing.T, url string, want int, within time.Duration) {
	t.Helper()
	var got int
	if !kafkatest.Every(within, 50*time.Millisecond, func() bool { got = httpStatus(url); return got == want }) {
		t.Fatalf("GET %s = %d after %v, want %d", url, got, within, want)
	}
}

// itemEvent is a valid event that names itself in metadata.item_id.
func itemEvent(id string) string {
	return fmt.Sprintf(`{"event_type":"click","user_id":"user-%d","action":"view","timestamp":%q,"metadata":{"item_id":%q}}`,
		len(id)%7, time.Now().UTC().Format("2006-01-02T15:04:05.000000"), id)
}

// itemCounts reads topic and counts records per metadata.item_id.
func itemCounts(t *testing.T, brokers, topic string, atLeast int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	// The records first (a consumer can be slow to start on a busy
	// machine), then a short wait for any beyond them.
	recs := harness.Consume(t, brokers, topic, atLeast, 20*time.Second)
	if len(recs) >= atLeast {
		if more := harness.Consume(t, brokers, topic, atLeast+1, 2*time.Second); len(more) > len(recs) {
			recs = more
		}
	}
	for _, r := range recs {
		var e struct {
			Metadata struct {
				ItemID string `json:"item_id"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(r.Value, &e); err != nil {
			t.Fatalf("record %s: %v", r.Value, err)
		}
		counts[e.Metadata.ItemID]++
	}
	return counts
}

// loadUntil sends events from 4 clients until stop is closed and returns the
// status of each item id (the last answer when a request was retried).
type loadRecord struct {
	mu     sync.Mutex
	status map[string]int
	key    map[string]string // Idempotency-Key of 504 answers
	body   map[string]string // what was sent, for the retry
	oks    int
	others int
}

func (l *loadRecord) count() (oks, others int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.oks, l.others
}

func runLoad(url string, stop <-chan struct{}) (*loadRecord, *sync.WaitGroup) {
	l := &loadRecord{status: map[string]int{}, key: map[string]string{}, body: map[string]string{}}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				body := itemEvent(id)
				status, _, h := post(url, body)
				l.mu.Lock()
				l.status[id], l.body[id] = status, body
				if status == 200 {
					l.oks++
				} else {
					l.others++
				}
				if h != nil && h.Get("Idempotency-Key") != "" {
					l.key[id] = h.Get("Idempotency-Key")
				}
				l.mu.Unlock()
			}
		}()
	}
	return l, &wg
}

func waitCount(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	if !kafkatest.Every(within, 20*time.Millisecond, cond) {
		t.Fatalf("%s: not within %v", what, within)
	}
}

// Issue 14 point 2: a broker cut under load. Every 200 is in Kafka exactly
// once, no 503 is (503 means not written), and a 504 (outcome unknown) is
// settled by a retry with the key it returned: then it is there exactly once.
// Point 3 for a broker that comes back with its data: 200s again within 10s
// of it listening, /ready not ready while it is away.
func TestTrackAPIBrokerCutUnderLoad503MeansNotWritten(t *testing.T) {
	port := harness.FreePort(t)
	dir := filepath.Join(t.TempDir(), "data")
	start := func() *embedded.Broker {
		b, err := embedded.Start(embedded.Options{Port: port, DataDir: dir, Topics: []string{"clickstream"}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	brokers := b.Addr()
	api := startTrackAPIWith(t, brokers)
	waitStatus(t, api.ready, 200, 20*time.Second)

	stop := make(chan struct{})
	l, wg := runLoad(api.url, stop)
	waitCount(t, "100 answers 200 with the broker up", 20*time.Second, func() bool { oks, _ := l.count(); return oks >= 100 })
	b.Close()
	waitCount(t, "20 answers other than 200 with the broker down", 30*time.Second, func() bool { _, others := l.count(); return others >= 20 })
	waitStatus(t, api.ready, 503, 5*time.Second)
	okBefore, _ := l.count()

	b = start()
	defer b.Close()
	back := time.Now()
	waitCount(t, "a 200 after the broker came back", 10*time.Second, func() bool { oks, _ := l.count(); return oks > okBefore })
	t.Logf("first 200 %v after the broker listened again", time.Since(back).Round(time.Millisecond))
	waitStatus(t, api.ready, 200, 10*time.Second)
	waitCount(t, "100 more 200s", 20*time.Second, func() bool { oks, _ := l.count(); return oks >= okBefore+100 })
	close(stop)
	wg.Wait()

	// Settle every 504 with its key: then it is written, exactly once.
	byStatus := map[int]int{}
	for id, s := range l.status {
		byStatus[s]++
		if s == 504 {
			status, body, _ := post(api.url, l.body[id], "Idempotency-Key", l.key[id])
			if status != 200 {
				t.Fatalf("retry of %s with Idempotency-Key %s: %d %s, want 200", id, l.key[id], status, body)
			}
			l.status[id] = 200
		}
	}
	t.Logf("answers during the run: %v", byStatus)
	if byStatus[503] == 0 {
		t.Fatalf("no 503 while the broker was down: %v", byStatus)
	}
	want := 0
	for _, s := range l.status {
		if s == 200 {
			want++
		}
	}
	counts := itemCounts(t, brokers, "clickstream", want)
	for id, s := range l.status {
		switch {
		case s == 200 && counts[id] != 1:
			t.Errorf("%s answered 200 is in Kafka %d times, want once", id, counts[id])
		case s == 503 && counts[id] != 0:
			t.Errorf("%s answered 503 (not written) is in Kafka %d times", id, counts[id])
		case s != 200 && s != 503 && s != 504:
			t.Errorf("%s answered %d", id, s)
		}
	}
}

// Issue 14 point 3: a broker that comes back empty (new topic ids, no
// producer ids, no topic): 200s again within 10s, /ready meanwhile not ready.
func TestTrackAPIRecoversFromBrokerThatComesBackEmpty(t *testing.T) {
	port := harness.FreePort(t)
	start := func() *embedded.Broker {
		b, err := embedded.Start(embedded.Options{Port: port, InMemory: true, Topics: []string{"clickstream"}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	api := startTrackAPIWith(t, b.Addr())
	waitStatus(t, api.ready, 200, 20*time.Second)
	if s, body, _ := post(api.url, itemEvent("before")); s != 200 {
		t.Fatalf("with the broker up: %d %s", s, body)
	}
	b.Close()
	waitStatus(t, api.ready, 503, 5*time.Second)
	s, body, _ := post(api.url, itemEvent("while-down"))
	if s != 503 || !strings.Contains(body, `"written":false`) {
		t.Fatalf("with the broker down: %d %s, want 503 with written false", s, body)
	}

	for round := 0; round < 2; round++ { // twice: the second time the topic is not even there
		topics := []string{"clickstream"}
		if round == 1 {
			topics = nil
		}
		b, err := embedded.Start(embedded.Options{Port: port, InMemory: true, Topics: topics})
		if err != nil {
			t.Fatal(err)
		}
		back := time.Now()
		id := fmt.Sprintf("after-%d", round)
		if !kafkatest.Every(10*time.Second, 100*time.Millisecond, func() bool {
			s, body, _ = post(api.url, itemEvent(id))
			return s == 200
		}) {
			t.Fatalf("round %d: still %d %s 10s after the empty broker came back", round, s, body)
		}
		t.Logf("round %d: 200 again %v after the empty broker listened", round, time.Since(back).Round(time.Millisecond))
		waitStatus(t, api.ready, 200, 10*time.Second)
		if counts := itemCounts(t, b.Addr(), "clickstream", 1); counts[id] != 1 || len(counts) != 1 {
			// Errorf first: the counts are reported even if the broker
			// does not answer for its end offsets.
			t.Errorf("round %d: new broker holds %v, want only %s once", round, counts, id)
			t.Fatalf("round %d: end offsets of clickstream: %v", round, kafkatest.EndOffsets(t, b.Addr(), "clickstream"))
		}
		b.Close()
		waitStatus(t, api.ready, 503, 5*time.Second)
	}
}

// Point 2's other half: with an Idempotency-Key a retry never writes twice,
// and a key reused for another body is refused.
func TestTrackAPIIdempotencyKey(t *testing.T) {
	brokers := harness.StartBroker(t)
	harness.CreateTopics(t, brokers, 3, "clickstream")
	api := startTrackAPIWith(t, brokers)
	waitStatus(t, api.ready, 200, 20*time.Second)
	body := itemEvent("idem-1")
	for i := 0; i < 3; i++ {
		s, got, h := post(api.url, body, "Idempotency-Key", "k-1")
		if s != 200 {
			t.Fatalf("try %d: %d %s", i, s, got)
		}
		if replayed := h.Get("Idempotent-Replayed") == "true"; replayed != (i > 0) {
			t.Fatalf("try %d: Idempotent-Replayed %q", i, h.Get("Idempotent-Replayed"))
		}
	}
	if s, got, _ := post(api.url, itemEvent("idem-2"), "Idempotency-Key", "k-1"); s != 409 || !strings.Contains(got, "different body") {
		t.Fatalf("key reused for another body: %d %s, want 409", s, got)
	}
	if s, got, _ := post(api.url, itemEvent("idem-3")); s != 200 {
		t.Fatalf("without a key: %d %s", s, got)
	}
	counts := itemCounts(t, brokers, "clickstream", 2)
	if counts["idem-1"] != 1 || counts["idem-2"] != 0 || counts["idem-3"] != 1 {
		t.Fatalf("records per item: %v, want idem-1 and idem-3 once", counts)
	}
}
