package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
)

// target is one /track implementation under load.
type target struct {
	name, label string
	topic       string
	url         string
	cmd         *exec.Cmd
	results     []result
	log         *os.File
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func ours(root, bin, brokers string) *target {
	addr := freeAddr()
	cmd := exec.Command(bin, "-c", "configs/track_api.yaml")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KAFKA_BROKERS="+brokers, "TRACK_API_ADDRESS="+addr, "TRACK_API_TOPIC=load-ours",
		"PIPELINE_HTTP_ADDRESS="+freeAddr())
	return &target{name: "ours", label: "`configs/track_api.yaml` (200 after the ack)", topic: "load-ours", url: "http://" + addr + "/track", cmd: cmd}
}

func seedApp(root, python, brokers, mode string) *target {
	port := freeAddr()[len("127.0.0.1:"):]
	topic := "load-seed-" + mode
	cmd := exec.Command(python, filepath.Join(root, "tests", "loadtrack", "seed_app.py"), brokers, topic, port, mode)
	label := "seed app, FastAPI + kafka-python, 200 after the ack"
	if mode == "noack" {
		label = "seed app, 200 without waiting for Kafka (as the seed)"
	}
	return &target{name: "seed-" + mode, label: label, topic: topic, url: "http://127.0.0.1:" + port + "/track", cmd: cmd}
}

// start runs the target and waits until it answers a valid event with 200.
func (t *target) start() error {
	f, err := os.CreateTemp("", "loadtrack-"+t.name+"-*.log")
	if err != nil {
		return err
	}
	t.log = f
	t.cmd.Stdout, t.cmd.Stderr = f, f
	t.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := t.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", t.name, err)
	}
	body := eventBody("warmup", 0, 0, 1)
	answers := func() bool {
		resp, err := http.Post(t.url, "application/json", strings.NewReader(body))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	// Each check is a request: every 200 ms is enough.
	if kafkatest.Every(60*time.Second, 200*time.Millisecond, answers) {
		return nil
	}
	log, _ := os.ReadFile(f.Name())
	return fmt.Errorf("%s did not answer 200 at %s within 60s; its output (%s):\n%s", t.name, t.url, f.Name(), log)
}

func (t *target) stop() {
	if t.cmd.Process != nil {
		_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = t.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-t.cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
	if t.log != nil {
		t.log.Close()
		os.Remove(t.log.Name())
	}
}

func (t *target) medians() (rate float64, p50, p99 time.Duration, oks int) {
	var rs, a, b []float64
	for _, r := range t.results {
		rs = append(rs, r.rate)
		a = append(a, float64(r.p50))
		b = append(b, float64(r.p99))
		oks += r.statuses[200]
	}
	return median(rs), time.Duration(median(a)), time.Duration(median(b)), oks
}

// eventBody is a valid event (or an array of per of them) whose item_id
// names the request and the event, so each can be found in Kafka.
func eventBody(run string, round, i, per int) string {
	one := func(j int) string {
		return `{"event_type":"click","user_id":"load-user-` + strconv.Itoa(i%64) + `","action":"view","timestamp":"` +
			time.Now().UTC().Format("2006-01-02T15:04:05.000000") + `","metadata":{"session_id":"s","page":"/load","item_id":"` +
			itemID(run, round, i, j) + `","user_agent":"loadtrack"}}`
	}
	if per == 1 {
		return one(0)
	}
	parts := make([]string, per)
	for j := range parts {
		parts[j] = one(j)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func itemID(run string, round, i, j int) string {
	return fmt.Sprintf("%s-r%d-%d-%d", run, round, i, j)
}
