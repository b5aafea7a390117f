package tests

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

const liveViewConfig = "configs/live_view.yaml"

// TestLiveViewShowsWindowResultsLive runs configs/live_view.yaml, opens its
// page in headless Chromium and checks, through the DevTools protocol, that
// rows appear for a first round of window results in user_stats and move on
// when a second round arrives. CI installs chromium; without it this fails.
func TestLiveViewShowsWindowResultsLive(t *testing.T) {
	chromium := envOr("CHROMIUM_BIN", "chromium")
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("headless Chromium is required for the live view test (%s not found: %v); install chromium or set CHROMIUM_BIN", chromium, err)
	}

	brokers := harness.StartBroker(t)
	harness.CreateTopics(t, brokers, 3, "user_stats")
	addr := harness.FreeAddr(t)
	p := harness.Start(t, "", []string{"KAFKA_BROKERS=" + brokers, "LIVE_VIEW_ADDRESS=" + addr,
		"PIPELINE_HTTP_ADDRESS=" + harness.FreeAddr(t)}, "-c", liveViewConfig)
	p.WaitForOutput(t, "Live page at http://"+addr+"/", 20*time.Second)
	pageURL := "http://" + addr + "/"
	waitForPage(t, pageURL)

	b := startBrowser(t, chromium)
	s := b.open(t, pageURL)
	s.waitFor(t, `document.body.dataset.ws`, "open", 10*time.Second)
	if got := s.eval(t, `document.querySelector("#current tr.empty") ? "empty" : "rows"`); got != "empty" {
		t.Fatalf("before any result the current window shows %q, want the empty row", got)
	}

	rows := func(table string) string {
		return `JSON.stringify([...document.querySelectorAll("#` + table + ` tbody tr[data-user]")].map(r => r.dataset.user + ":" + r.dataset.events))`
	}
	const bars = `JSON.stringify([...document.querySelectorAll("#chart rect.bar")].map(r => r.dataset.events))`

	// Round 1: the 15:43:40 window.
	w1 := [2]string{"2024-06-27T15:43:40Z", "2024-06-27T15:43:50Z"}
	w2 := [2]string{"2024-06-27T15:43:50Z", "2024-06-27T15:44:00Z"}
	harness.Produce(t, brokers, "user_stats",
		tenSecondResult("u1", w1, 5, map[string]int{"click": 3, "page_view": 2}),
		tenSecondResult("u2", w1, 3, map[string]int{"scroll": 3}),
		tenSecondResult("u3", w1, 8, map[string]int{"click": 8}))
	s.waitFor(t, rows("current"), `["u3:8","u1:5","u2:3"]`, 10*time.Second)
	s.waitFor(t, rows("last"), `[]`, time.Second)
	s.waitFor(t, bars, `["16"]`, time.Second)
	if got := s.eval(t, `document.getElementById("current-title").textContent`); !strings.Contains(got, "[15:43:40, 15:43:50)") {
		t.Fatalf("current window title %q", got)
	}

	// Round 2: the next window, a duplicate of u1's first window with a
	// larger count (at least once upstream: the larger one wins) and a session.
	harness.Produce(t, brokers, "user_stats",
		tenSecondResult("u2", w2, 9, map[string]int{"purchase": 1, "click": 8}),
		tenSecondResult("u4", w2, 2, map[string]int{"page_view": 2}),
		tenSecondResult("u1", w1, 6, map[string]int{"click": 4, "page_view": 2}),
		harness.KV("u1|2024-06-27T15:43:41Z|2024-06-27T16:13:55Z",
			`{"user_id":"u1","window":"user_session","start":"2024-06-27T15:43:41Z","end":"2024-06-27T15:43:55Z","duration":14,"pages":["/a","/b"],"events":6}`))
	s.waitFor(t, rows("current"), `["u2:9","u4:2"]`, 10*time.Second)
	s.waitFor(t, rows("last"), `["u3:8","u1:6","u2:3"]`, 5*time.Second)
	s.waitFor(t, bars, `["17","11"]`, 5*time.Second)
	s.waitFor(t, `(document.querySelector("#sessions tbody tr[data-user]") || {textContent: ""}).textContent`,
		"u115:43:4115:43:5514 s62", 5*time.Second)
	s.waitFor(t, `document.body.dataset.received`, "7", time.Second)

	png := s.screenshot(t)
	out := filepath.Join(harness.RepoRoot(), "tests", "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "live_view.png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", filepath.Join(out, "live_view.png"))
}

func tenSecondResult(user string, w [2]string, events int, byType map[string]int) *kgo.Record {
	bt, _ := json.Marshal(byType)
	return harness.KV(user+"|"+w[0]+"|"+w[1], fmt.Sprintf(
		`{"user_id":%q,"window":"user_10s","window_start":%q,"window_end":%q,"events":%d,"distinct_pages":%d,"by_event_type":%s,"segment":"smb"}`,
		user, w[0], w[1], events, len(byType), bt))
}

func waitForPage(t *testing.T, url string) {
	t.Helper()
	var err error
	if !kafkatest.Every(15*time.Second, 100*time.Millisecond, func() bool {
		var resp *http.Response
		if resp, err = http.Get(url); err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			return true
		}
		err = fmt.Errorf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		return false
	}) {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// --- a minimal Chrome DevTools protocol client over --remote-debugging-pipe
// (fd 3: commands to the browser, fd 4: replies, each JSON message ended by
// a NUL byte): no websocket, no port, no dependency.

type browser struct {
	cmd     *exec.Cmd
	w       *os.File
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
	done    chan struct{}
	stderr  *strings.Builder
}

type cdpReply struct {
	ID     int             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func startBrowser(t *testing.T, chromium string) *browser {
	t.Helper()
	toBrowserR, toBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromBrowserR, fromBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1280,900",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowserR, fromBrowserW} // fd 3, fd 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	b := &browser{cmd: cmd, w: toBrowserW, pending: map[int]chan cdpReply{}, done: make(chan struct{}), stderr: &strings.Builder{}}
	cmd.Stderr = &lockedWriter{w: b.stderr}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	toBrowserR.Close()
	fromBrowserW.Close()
	go b.read(fromBrowserR)
	t.Cleanup(func() {
		_, _ = b.call("", "Browser.close", nil, 3*time.Second)
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // its own process group
			<-exited
		}
		toBrowserW.Close()
		if t.Failed() {
			t.Logf("chromium stderr:\n%s", b.stderr.String())
		}
	})
	if _, err := b.call("", "Browser.getVersion", nil, 20*time.Second); err != nil {
		t.Fatalf("chromium did not answer on the DevTools pipe: %v\n%s", err, b.stderr.String())
	}
	return b
}

type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (b *browser) read(r *os.File) {
	defer close(b.done)
	br := bufio.NewReaderSize(r, 1<<20)
	for {
		msg, err := br.ReadBytes(0)
		if err != nil {
			return
		}
		var rep cdpReply
		if json.Unmarshal(msg[:len(msg)-1], &rep) != nil || rep.ID == 0 {
			continue // an event
		}
		b.mu.Lock()
		ch := b.pending[rep.ID]
		delete(b.pending, rep.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- rep
		}
	}
}

func (b *browser) call(session, method string, params any, timeout time.Duration) (json.RawMessage, error) {
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	ch := make(chan cdpReply, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.w.Write(append(data, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case rep := <-ch:
		if rep.Error != nil {
			return nil, fmt.Errorf("%s: %d %s", method, rep.Error.Code, rep.Error.Message)
		}
		return rep.Result, nil
	case <-b.done:
		return nil, fmt.Errorf("%s: browser closed the pipe", method)
	case <-time.After(timeout):
		return nil, fmt.Errorf("%s: no reply within %v", method, timeout)
	}
}

type pageSession struct {
	b      *browser
	id     string
	target string
}

func (b *browser) open(t *testing.T, url string) *pageSession {
	t.Helper()
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var target struct {
		TargetID string `json:"targetId"`
	}
	_ = json.Unmarshal(res, &target)
	if res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	var att struct {
		SessionID string `json:"sessionId"`
	}
	_ = json.Unmarshal(res, &att)
	s := &pageSession{b, att.SessionID, target.TargetID}
	s.must(t, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false})
	s.must(t, "Page.enable", nil)
	s.must(t, "Page.navigate", map[string]any{"url": url})
	s.waitFor(t, `document.readyState`, "complete", 10*time.Second)
	return s
}

func (s *pageSession) must(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	res, err := s.b.call(s.id, method, params, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// eval returns the value of a JavaScript expression as a string.
func (s *pageSession) eval(t *testing.T, expr string) string {
	t.Helper()
	res := s.must(t, "Runtime.evaluate", map[string]any{"expression": "String(" + expr + ")", "returnByValue": true})
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		t.Fatalf("evaluate %s: %s %s", expr, r.ExceptionDetails.Text, r.ExceptionDetails.Exception.Description)
	}
	return fmt.Sprint(r.Result.Value)
}

func (s *pageSession) waitFor(t *testing.T, expr, want string, timeout time.Duration) {
	t.Helper()
	var got string
	if !kafkatest.Every(timeout, 100*time.Millisecond, func() bool { got = s.eval(t, expr); return got == want }) {
		t.Fatalf("page: %s = %s after %v, want %s", expr, got, timeout, want)
	}
}

func (s *pageSession) screenshot(t *testing.T) []byte {
	t.Helper()
	res := s.must(t, "Page.captureScreenshot", map[string]any{"format": "png"})
	var r struct {
		Data string `json:"data"`
	}
	_ = json.Unmarshal(res, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 {
		t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	return png
}
