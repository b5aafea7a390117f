package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/streamkit/pipeline/tests/harness"
)

const trackAPIConfig = "configs/track_api.yaml"

// startTrackAPI runs configs/track_api.yaml against brokers and returns the
// /track URL once the HTTP input listens.
func startTrackAPI(t *testing.T, brokers string, waitForOutput bool) (string, *harness.Process) {
	t.Helper()
	addr := harness.FreeAddr(t)
	p := harness.Start(t, "", []string{"KAFKA_BROKERS=" + brokers, "TRACK_API_ADDRESS=" + addr,
		"PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)}, "-c", trackAPIConfig)
	p.WaitForOutput(t, "Receiving /track requests at: http://"+addr+"/track", 20*time.Second)
	if waitForOutput {
		p.WaitForOutput(t, "Input type track_api is now active", 20*time.Second)
	}
	return "http://" + addr + "/track", p
}

type trackResponse struct {
	status  int
	body    string
	elapsed time.Duration
}

func postTrack(t *testing.T, url, body string) trackResponse {
	t.Helper()
	start := time.Now()
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST %.60s: Content-Type %q, want application/json", body, ct)
	}
	return trackResponse{resp.StatusCode, string(b), time.Since(start)}
}

func wantJSON(t *testing.T, what string, r trackResponse, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d (%s), want %d", what, r.status, r.body, status)
	}
	var g, w any
	if err := json.Unmarshal([]byte(r.body), &g); err != nil {
		t.Fatalf("%s: body %q is not JSON: %v", what, r.body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Fatalf("%s: body\n got  %s\n want %s", what, gb, wb)
	}
}

func TestTrackAPIWritesAckedEventsAndRejectsBadInput(t *testing.T) {
	brokers := harness.StartBroker(t)
	harness.CreateTopics(t, brokers, 3, "clickstream")
	url, _ := startTrackAPI(t, brokers, true)
	now := time.Now()

	// One event: 200 after the write, keyed by user_id.
	one := event("alice", "click", now)
	wantJSON(t, "one event", postTrack(t, url, one), 200,
		`{"message":"User data submitted successfully!","user_data":{"user_id":"alice"}}`)
	// The record is there as soon as the 200 is: no waiting.
	recs := harness.Consume(t, brokers, "clickstream", 1, 5*time.Second)
	if len(recs) != 1 || string(recs[0].Key) != "alice" {
		t.Fatalf("after the 200: %d records in clickstream, want 1 with key alice", len(recs))
	}

	// An array: one record per event, each keyed by its user_id.
	arr := "[" + event("bob", "page_view", now) + "," + event("carol", "scroll", now) + "," + event("bob", "purchase", now) + "]"
	wantJSON(t, "array", postTrack(t, url, arr), 200,
		`{"message":"User data submitted successfully!","user_data":[{"user_id":"bob"},{"user_id":"carol"},{"user_id":"bob"}]}`)

	// Invalid input: 422 with every violation, nothing written.
	wantJSON(t, "invalid event", postTrack(t, url,
		`{"event_type":"hover","action":"","timestamp":"yesterday","metadata":{"page":5}}`), 422, `{"detail":[
		{"path":"event_type","rule":"enum","message":"not one of page_view, click, scroll, add_to_cart, purchase (\"hover\")"},
		{"path":"user_id","rule":"required","message":"required"},
		{"path":"action","rule":"min_length","message":"0 characters, fewer than min_length 1"},
		{"path":"timestamp","rule":"timestamp","message":"not a timestamp (\"yesterday\")"},
		{"path":"metadata.page","rule":"type","message":"expected string, got number (5)"}]}`)
	wantJSON(t, "array with invalid events", postTrack(t, url,
		"["+event("dave", "click", now)+`,{"event_type":"click","action":"view","timestamp":"2024-06-27T15:43:43"},7]`), 422, `{"detail":[
		{"path":"[1].user_id","rule":"required","message":"required"},
		{"path":"[2]","rule":"type","message":"expected object, got number (7)"}]}`)
	wantJSON(t, "truncated JSON", postTrack(t, url, `{"event_type":"click","user_id":"u9`), 422,
		`{"detail":[{"path":"$","rule":"json","message":"not JSON: unexpected end of input (truncated)"}]}`)
	wantJSON(t, "two values", postTrack(t, url, one+","+one), 422,
		`{"detail":[{"path":"$","rule":"json","message":"not JSON: unexpected data after the top-level value"}]}`)
	wantJSON(t, "empty array", postTrack(t, url, `[]`), 422,
		`{"detail":[{"path":"$","rule":"min_length","message":"0 items, fewer than min_length 1"}]}`)
	// Query parameters become metadata in http_server: they must not pick the answer.
	wantJSON(t, "status smuggled in the query", postTrack(t, url+"?http_status=200", `{"user_id":"x"}`), 422, `{"detail":[
		{"path":"event_type","rule":"required","message":"required"},
		{"path":"action","rule":"required","message":"required"},
		{"path":"timestamp","rule":"required","message":"required"}]}`)

	// Above the size limit: 413.
	big := `{"event_type":"click","user_id":"big","action":"view","timestamp":"2024-06-27T15:43:43","metadata":{"pad":"` +
		strings.Repeat("x", 1<<20) + `"}}`
	r := postTrack(t, url, big)
	if r.status != 413 || !strings.Contains(r.body, "more than the limit of 1048576 bytes") {
		t.Fatalf("oversized body: %d %s, want 413", r.status, r.body)
	}

	// Exactly the 4 valid events were written, keyed by user_id.
	recs = harness.ConsumeExactly(t, brokers, "clickstream", 4, 10*time.Second)
	var got []string
	for _, rec := range recs {
		var e struct {
			UserID    string `json:"user_id"`
			EventType string `json:"event_type"`
		}
		if err := json.Unmarshal(rec.Value, &e); err != nil {
			t.Fatalf("record %s: %v", rec.Value, err)
		}
		if string(rec.Key) != e.UserID {
			t.Errorf("record %s has key %q, want its user_id", rec.Value, rec.Key)
		}
		got = append(got, e.UserID+"/"+e.EventType)
	}
	sort.Strings(got)
	if w := "[alice/click bob/page_view bob/purchase carol/scroll]"; fmt.Sprint(got) != w {
		t.Fatalf("clickstream records %v, want %s", got, w)
	}
}

// A broker that is not there when the API starts: 503 within a few
// seconds, and at once for the requests that follow.
func TestTrackAPIUnreachableBrokerIs503(t *testing.T) {
	url, _ := startTrackAPI(t, harness.FreeAddr(t), false)
	for i := 0; i < 3; i++ {
		r := postTrack(t, url, event("alice", "click", time.Now()))
		if r.status != 503 || !strings.Contains(r.body, `"detail":"event stream unavailable`) {
			t.Fatalf("request %d: %d %s, want 503", i, r.status, r.body)
		}
		if r.elapsed > 5*time.Second {
			t.Fatalf("request %d: 503 after %v, want within 5s", i, r.elapsed)
		}
	}
	// Invalid input is still answered by the validation.
	if r := postTrack(t, url, `{}`); r.status != 422 {
		t.Fatalf("invalid event with the broker down: %d %s, want 422", r.status, r.body)
	}
}

// A broker that goes away while the API runs: once the API has noticed
// (its /ready says so, within a second), 503 at once, never a 200. (A request
// caught in flight at the moment of the cut may also get 504 "unknown":
// TestTrackAPIBrokerCutUnderLoad503MeansNotWritten covers that.)
func TestTrackAPIBrokerLostIs503(t *testing.T) {
	b, err := embedded.Start(embedded.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			b.Close()
		}
	})
	harness.CreateTopics(t, b.Addr(), 1, "clickstream")
	api := startTrackAPIWith(t, b.Addr())
	waitStatus(t, api.ready, 200, 20*time.Second)
	if r := postTrack(t, api.url, event("alice", "click", time.Now())); r.status != 200 {
		t.Fatalf("with the broker up: %d %s, want 200", r.status, r.body)
	}
	b.Close()
	closed = true
	waitStatus(t, api.ready, 503, 5*time.Second)
	r := postTrack(t, api.url, event("alice", "click", time.Now()))
	if r.status != 503 || r.elapsed > time.Second || !strings.Contains(r.body, `"written":false`) {
		t.Fatalf("after the broker stopped: %d %s after %v, want 503 (written false) within 1s", r.status, r.body, r.elapsed)
	}
}

// Issue 14 point 4: a lone surrogate is a 422 naming the field (it never
// becomes U+FFFD in the key), a leading BOM is accepted, other paths and
// methods answer JSON, and TRACK_API_ERROR_FORMAT=fastapi answers 422 as
// FastAPI does, for clients written against the seed app.
func TestTrackAPIBadInputAnswers(t *testing.T) {
	brokers := harness.StartBroker(t)
	harness.CreateTopics(t, brokers, 3, "clickstream")
	api := startTrackAPIWith(t, brokers)
	waitStatus(t, api.ready, 200, 20*time.Second)
	lone := `{"event_type":"click","user_id":"u\ud800","action":"view","timestamp":"2024-06-27T15:43:43"}`
	wantJSON(t, "lone surrogate", postTrack(t, api.url, lone), 422, `{"detail":[{"path":"user_id","rule":"lone_surrogate",
		"message":"holds a lone UTF-16 surrogate escape (\\uD800-\\uDFFF without its pair), which is not a character"}]}`)
	r := postTrack(t, api.url, "["+event("bom-ok", "click", time.Now())+`,{"event_type":"click","user_id":"x","action":"a\udc00","timestamp":"2024-06-27T15:43:43"}]`)
	if r.status != 422 || !strings.Contains(r.body, `"path":"[1].action","rule":"lone_surrogate"`) {
		t.Fatalf("lone surrogate in an array: %d %s", r.status, r.body)
	}
	wantJSON(t, "leading BOM", postTrack(t, api.url, "\xEF\xBB\xBF"+event("bom", "click", time.Now())), 200,
		`{"message":"User data submitted successfully!","user_data":{"user_id":"bom"}}`)
	recs := harness.ConsumeExactly(t, brokers, "clickstream", 1, 10*time.Second)
	if string(recs[0].Key) != "bom" || recs[0].Value[0] != '{' {
		t.Fatalf("record of the BOM request: key %q value %q", recs[0].Key, recs[0].Value)
	}

	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/nope", 404, `{"detail":"Not Found"}`},
		{"GET", "/track", 405, `{"detail":"Method Not Allowed"}`},
		{"PUT", "/track", 405, `{"detail":"Method Not Allowed"}`},
	} {
		req, _ := http.NewRequest(c.method, strings.TrimSuffix(api.url, "/track")+c.path, strings.NewReader("{}"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || string(b) != c.body || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: %d %s %q, want %d %s as JSON", c.method, c.path, resp.StatusCode, b, resp.Header.Get("Content-Type"), c.status, c.body)
		}
	}

	fastapi := startTrackAPIWith(t, brokers, "TRACK_API_ERROR_FORMAT=fastapi")
	waitStatus(t, fastapi.ready, 200, 20*time.Second)
	wantJSON(t, "FastAPI-shaped 422", postTrack(t, fastapi.url, `[{"event_type":"hover","action":"view","timestamp":"2024-06-27T15:43:43","metadata":{"page":5}}]`), 422, `{"detail":[
		{"loc":["body",0,"event_type"],"msg":"not one of page_view, click, scroll, add_to_cart, purchase (\"hover\")","type":"enum"},
		{"loc":["body",0,"user_id"],"msg":"Field required","type":"missing"},
		{"loc":["body",0,"metadata","page"],"msg":"expected string, got number (5)","type":"type_error"}]}`)
}
