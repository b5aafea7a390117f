package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Issue 14 point 5, in a real browser: three pages watch one live view.
// Results written before the live view started but long ago never show (no
// stale windows); recent ones do at once (backfill). Every page gets every
// result (broadcast); a closed page's connection is let go at once; a page
// reloaded mid-run shows the last windows again at once, then the live ones;
// and every page shows exactly the counts in user_stats for every window it
// shows.
func TestLiveViewEveryPageShowsExactlyUserStats(t *testing.T) {
	chromium := envOr("CHROMIUM_BIN", "chromium")
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("headless Chromium is required (%s not found: %v); install chromium or set CHROMIUM_BIN", chromium, err)
	}
	brokers := harness.StartBroker(t)
	harness.CreateTopics(t, brokers, 3, "user_stats")

	// An earlier run's window, written an hour ago: never on the page.
	stale := tenSecondResult("stale-user", [2]string{"2026-01-01T00:00:00Z", "2026-01-01T00:00:10Z"}, 99, map[string]int{"click": 99})
	stale.Timestamp = time.Now().Add(-time.Hour)
	harness.Produce(t, brokers, "user_stats", stale)

	// Windows 0..12 of 10 s; users u0..u4, some written twice (at least once
	// upstream: the larger count is the true one).
	base := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	want := map[string]map[string]int{} // window start -> user -> events
	write := func(from, to int) {
		var recs []*kgo.Record
		for w := from; w <= to; w++ {
			win := [2]string{base.Add(time.Duration(w) * 10 * time.Second).Format(time.RFC3339), base.Add(time.Duration(w+1) * 10 * time.Second).Format(time.RFC3339)}
			want[win[0]] = map[string]int{}
			for u := 0; u < 2+w%4; u++ {
				user, n := fmt.Sprintf("u%d", u), 1+(w*7+u*3)%11
				if u == 1 {
					recs = append(recs, tenSecondResult(user, win, n-1, map[string]int{"click": n - 1})) // an earlier, smaller copy
				}
				recs = append(recs, tenSecondResult(user, win, n, map[string]int{"click": n}))
				want[win[0]][user] = n
			}
		}
		harness.Produce(t, brokers, "user_stats", recs...)
	}
	expect := func(from, to int) string {
		m := map[string]map[string]int{}
		for w := from; w <= to; w++ {
			k := base.Add(time.Duration(w) * 10 * time.Second).Format(time.RFC3339)
			m[k] = want[k]
		}
		b, _ := json.Marshal(m) // sorted keys, as the page's snapshot
		return string(b)
	}
	write(0, 2) // before the live view starts, recently: backfill

	addr, metricsAddr := harness.FreeAddr(t), harness.FreeAddr(t)
	p := harness.Start(t, "", []string{"KAFKA_BROKERS=" + brokers, "LIVE_VIEW_ADDRESS=" + addr, "PIPELINE_HTTP_ADDRESS=" + metricsAddr}, "-c", liveViewConfig)
	p.WaitForOutput(t, "Live page at http://"+addr+"/", 20*time.Second)
	pageURL := "http://" + addr + "/"
	waitForPage(t, pageURL)
	pagesGauge := func() int { return liveViewPages(t, "http://"+metricsAddr+"/metrics") }

	b := startBrowser(t, chromium)
	const snap = `liveSnapshot()`
	a := b.open(t, pageURL)
	a.waitFor(t, `document.body.dataset.ws`, "open", 10*time.Second)
	a.waitFor(t, snap, expect(0, 2), 10*time.Second) // backfill, and nothing stale
	pb := b.open(t, pageURL)
	pc := b.open(t, pageURL)
	for _, s := range []*pageSession{pb, pc} {
		s.waitFor(t, `document.body.dataset.ws`, "open", 10*time.Second)
	}
	waitInt(t, "connected pages", pagesGauge, 3, 5*time.Second)

	write(3, 7)
	for _, s := range []*pageSession{a, pb, pc} {
		s.waitFor(t, snap, expect(0, 7), 10*time.Second)
	}
	// A closed tab is let go at once, not when the next result fails on it.
	if _, err := b.call("", "Target.closeTarget", map[string]any{"targetId": pc.target}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	waitInt(t, "connected pages after closing one", pagesGauge, 2, 3*time.Second)
	// Reloaded mid-run: the last 6 windows at once, then the live ones.
	pb.eval(t, `window.beforeReload = true`)
	pb.must(t, "Page.reload", map[string]any{"ignoreCache": true})
	pb.waitForNewDocument(t, 10*time.Second)
	pb.waitFor(t, snap, expect(2, 7), 10*time.Second)
	pb.waitFor(t, `document.body.dataset.ws`, "open", 5*time.Second)
	waitInt(t, "connected pages after the reload", pagesGauge, 2, 5*time.Second)

	write(8, 12)
	a.waitFor(t, snap, expect(0, 12), 10*time.Second)
	pb.waitFor(t, snap, expect(2, 12), 10*time.Second)
	// Both render the latest window's users by events, as in user_stats.
	latest := want[base.Add(120*time.Second).Format(time.RFC3339)]
	users := make([]string, 0, len(latest))
	for u := range latest {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool {
		if latest[users[i]] != latest[users[j]] {
			return latest[users[i]] > latest[users[j]]
		}
		return users[i] < users[j]
	})
	var top []string
	for _, u := range users {
		top = append(top, fmt.Sprintf("%s:%d", u, latest[u]))
	}
	wantRows, _ := json.Marshal(top)
	rows := `JSON.stringify([...document.querySelectorAll("#current tbody tr[data-user]")].map(r => r.dataset.user + ":" + r.dataset.events))`
	for _, s := range []*pageSession{a, pb} {
		s.waitFor(t, rows, string(wantRows), 10*time.Second)
	}
}

var pagesMetric = regexp.MustCompile(`(?m)^live_view_pages(?:\{[^}]*\})? (\d+)`)

// liveViewPages reads the live_view_pages gauge from /metrics.
func liveViewPages(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := pagesMetric.FindSubmatch(body)
	if m == nil {
		return -1
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

func waitInt(t *testing.T, what string, get func() int, want int, within time.Duration) {
	t.Helper()
	var got int
	if !kafkatest.Every(within, 20*time.Millisecond, func() bool { got = get(); return got == want }) {
		t.Fatalf("%s: %d after %v, want %d", what, got, within, want)
	}
}

// waitForNewDocument waits until a reload replaced the page's document
// (marked with window.beforeReload before it) and the new one has loaded;
// evaluations fail while the old context goes away, which is not an error.
func (s *pageSession) waitForNewDocument(t *testing.T, within time.Duration) {
	t.Helper()
	var err error
	if !kafkatest.Every(within, 50*time.Millisecond, func() bool {
		var res []byte
		res, err = s.b.call(s.id, "Runtime.evaluate", map[string]any{
			"expression": `String(window.beforeReload === undefined && document.readyState === "complete" && typeof liveSnapshot === "function")`, "returnByValue": true}, 5*time.Second)
		if err != nil {
			return false
		}
		var r struct {
			Result struct {
				Value any `json:"value"`
			} `json:"result"`
		}
		return json.Unmarshal(res, &r) == nil && r.Result.Value == "true"
	}) {
		t.Fatalf("the reloaded page did not load a new document within %v (last error %v)", within, err)
	}
}
