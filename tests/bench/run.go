package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is one measured process: a pipeline, the C loop or the Python
// consumer. Peak RSS is the child's VmHWM from /proc/<pid>/status, polled
// every 50 ms (it only grows). Not wait4's ru_maxrss: Linux carries the
// forking parent's high-water mark across exec into it, so every child
// would report at least the driver's own RSS.
type child struct {
	cmd   *exec.Cmd
	out   bytes.Buffer
	start time.Time
	done  chan struct{}
	err   error
	rssKB int64
	end   time.Time
}

func startChild(dir string, env []string, name string, args ...string) (*child, error) {
	c := &child{cmd: exec.Command(name, args...), done: make(chan struct{})}
	c.cmd.Dir = dir
	c.cmd.Env = append(os.Environ(), env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
	c.start = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	hwm := make(chan int64, 1)
	stopPoll := make(chan struct{})
	go func() {
		var peak int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, ok := procStatusKB(c.cmd.Process.Pid, "VmHWM:"); ok && kb > peak {
				peak = kb
			}
			select {
			case <-stopPoll:
				hwm <- peak
				return
			case <-t.C:
			}
		}
	}()
	go func() {
		// Wait4 with WNOWAIT would be nicer; instead the poller keeps the
		// last value seen before the process is reaped.
		c.err = c.cmd.Wait()
		c.end = time.Now()
		close(stopPoll)
		c.rssKB = <-hwm
		close(c.done)
	}()
	return c, nil
}

// procStatusKB reads a "Name:   N kB" line of /proc/<pid>/status.
func procStatusKB(pid int, name string) (int64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name) {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, name)), "%d", &kb); err == nil {
				return kb, true
			}
		}
	}
	return 0, false
}

// wait waits for exit (killing the child after timeout).
func (c *child) wait(timeout time.Duration) error {
	select {
	case <-c.done:
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not finish within %v (killed); output:\n%s", c.cmd.Path, timeout, tail(c.out.String()))
	}
	if c.err != nil {
		return fmt.Errorf("%s: %v; output:\n%s", c.cmd.Path, c.err, tail(c.out.String()))
	}
	return nil
}

// stop sends SIGTERM, then SIGKILL after grace.
func (c *child) stop(grace time.Duration) {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

// runPipeline runs `pipeline -c cfg` to completion (bounded input).
// profile, when set, captures a CPU profile of profSecs seconds from the
// process's /debug/pprof endpoint (the config must enable it on httpAddr).
func (b *bench) runPipeline(cfg string, timeout time.Duration, profile, httpAddr string, profSecs int) (*child, error) {
	path := fmt.Sprintf("%s/cfg-%d.yaml", b.dir, time.Now().UnixNano())
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	c, err := startChild(b.root, nil, b.bin, "-c", path)
	if err != nil {
		return nil, err
	}
	var profErr chan error
	if profile != "" {
		profErr = make(chan error, 1)
		go func() { profErr <- captureProfile(httpAddr, profile, profSecs, c.done) }()
	}
	killed := make(chan string, 1)
	if b.rssLimitKB > 0 {
		go watchRSS(c, b.rssLimitKB, killed)
	}
	err = c.wait(timeout)
	select {
	case msg := <-killed:
		return c, fmt.Errorf("%s", msg)
	default:
	}
	if profErr != nil {
		if perr := <-profErr; perr != nil {
			fmt.Fprintf(os.Stderr, "profile %s: %v\n", profile, perr)
		}
	}
	return c, err
}

// watchRSS kills the child when its resident set passes limitKB (the
// machine is shared: a run that blows its memory budget must not take the
// machine with it).
func watchRSS(c *child, limitKB int64, killed chan<- string) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		if kb, ok := procStatusKB(c.cmd.Process.Pid, "VmRSS:"); ok && kb > limitKB {
			killed <- fmt.Sprintf("killed: RSS %d MB > limit %d MB after %.1fs", kb/1024, limitKB/1024, time.Since(c.start).Seconds())
			_ = c.cmd.Process.Kill()
			return
		}
	}
}

// captureProfile polls until the HTTP server is up, then fetches a CPU
// profile into path.
func captureProfile(addr, path string, secs int, done chan struct{}) error {
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs)
	for {
		select {
		case <-done:
			return fmt.Errorf("process ended before the profile started")
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s: %s", resp.Status, b)
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		return err
	}
}

// windowLine is one window emission as the window buffer writes it (A, E,
// D), or as B's mapping writes it, or a shaped D session.
type windowLine struct {
	UserID      string   `json:"user_id"`
	Window      string   `json:"window"`
	WindowStart string   `json:"window_start"`
	Start       string   `json:"start"` // D's shaped sessions
	StartUnix   *float64 `json:"window_start_unix"`
	Events      *int32   `json:"events"`
}

func (w *windowLine) startSec() (int64, error) {
	if w.StartUnix != nil {
		return int64(*w.StartUnix), nil
	}
	s := w.WindowStart
	if s == "" {
		s = w.Start
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, err
	}
	return floorDiv(t.UnixNano(), int64(time.Second)), nil
}

// collector accumulates window lines into count maps (by window name when
// the line says, "" otherwise). Partial counts for the same key are summed
// (B's processing-time windows can split an event-time window); dups
// counts keys seen more than once, which must stay 0 for the window buffer.
type collector struct {
	maps  map[string]map[wkey]int32
	dups  int
	other int // lines that are not window results (late or errored events)
	lines int
}

func newCollector() *collector { return &collector{maps: map[string]map[wkey]int32{}} }

func (c *collector) add(line []byte) {
	c.lines++
	var w windowLine
	if err := json.Unmarshal(line, &w); err != nil || w.Events == nil || (w.WindowStart == "" && w.Start == "" && w.StartUnix == nil) {
		c.other++
		return
	}
	st, err := w.startSec()
	if err != nil {
		c.other++
		return
	}
	m := c.maps[w.Window]
	if m == nil {
		m = map[wkey]int32{}
		c.maps[w.Window] = m
	}
	k := wkey{w.UserID, st}
	if _, ok := m[k]; ok {
		c.dups++
	}
	m[k] += *w.Events
}

func collectFile(path string) (*collector, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := newCollector()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		c.add(sc.Bytes())
	}
	return c, sc.Err()
}

// check compares the collected map of window name (or the only one) with
// want; "" = identical.
func (c *collector) check(window string, want map[wkey]int32, allowDups bool) string {
	var problems []string
	if c.other > 0 {
		problems = append(problems, fmt.Sprintf("%d non-window lines (late/errored events)", c.other))
	}
	if c.dups > 0 && !allowDups {
		problems = append(problems, fmt.Sprintf("%d duplicate (user, window) emissions", c.dups))
	}
	got := c.maps[window]
	if got == nil {
		got = map[wkey]int32{}
	}
	if d := compare(got, want); d != "" {
		problems = append(problems, d)
	}
	return strings.Join(problems, "; ")
}
