package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/streamkit/pipeline/internal/demo"
	"github.com/urfave/cli/v2"
)

// demoJob is one config the demo runs as a child `pipeline -c` process.
type demoJob struct {
	name   string // job=<name> on each of its log lines
	config string
	env    []string // where its HTTP server listens, so the three do not clash
}

// demoJobs are the main job, the /track API and the live page. Each runs as
// its own process because their configs carry their own http, metrics and
// resource sections, which streams mode does not accept; all of them use the
// one embedded broker and profile service that the demo starts. The main job
// serves metrics on PIPELINE_HTTP_ADDRESS (127.0.0.1:4195), the API and the
// live view on the next two ports; TRACK_API_ADDRESS and LIVE_VIEW_ADDRESS move the API and page.
func demoJobs() ([]demoJob, error) {
	main := httpAddress()
	host, port, err := net.SplitHostPort(main)
	if err != nil {
		return nil, fmt.Errorf("PIPELINE_HTTP_ADDRESS %q: %w", main, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("PIPELINE_HTTP_ADDRESS %q: port: %w", main, err)
	}
	return []demoJob{
		{name: "clickstream", config: "configs/clickstream.yaml", env: []string{"PIPELINE_HTTP_ADDRESS=" + main}},
		{name: "track_api", config: "configs/track_api.yaml", env: []string{"PIPELINE_HTTP_ADDRESS=" + net.JoinHostPort(host, strconv.Itoa(p+1))}},
		{name: "live_view", config: "configs/live_view.yaml", env: []string{"PIPELINE_HTTP_ADDRESS=" + net.JoinHostPort(host, strconv.Itoa(p+2))}},
	}, nil
}

// args run the job's config with its name on every log line (a Benthos
// logger static field), in Benthos' logfmt like the demo's own lines.
func (j demoJob) args() []string {
	return []string{"-s", "logger.static_fields.job=" + j.name, "-c", j.config}
}

const demoBanner = `
pipeline demo is running:
  live page      http://%s/            (top users per 10 s window, events per window)
  track API      curl -s %s/track -d '{"event_type":"click","user_id":"u1","action":"view","timestamp":"%s"}'
  metrics        http://%s/metrics     (main job, Prometheus)
  topics         clickstream -> user_stats, clickstream-late, clickstream-retry-1..3, clickstream-dlq
  watch results  kcat -C -b %s -t user_stats -f '%%k  %%s\n'
  dead letters   go run ./cmd/pipeline dlq inspect --topic clickstream-dlq
Demo events take every route: ~2%% malformed (DLQ, validation), ~3%% too late (clickstream-late), ~3%% from
users without a profile (retry-1..3, then DLQ as retries_exhausted). Every %v a "demo summary" line
counts what went where. Ctrl+C stops everything; the broker keeps its data in %s.
`

// summaryEvery is how often the demo says how many events went where.
const summaryEvery = 30 * time.Second

// demoCommand starts the whole product with one command: the embedded
// broker, demo events, the profile service, and the three jobs.
func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "Run the whole demo: embedded broker, demo events, the main job, the /track API and the live page",
		Description: `Starts the embedded Kafka broker with demo clickstream events and a local
profile service, then runs configs/clickstream.yaml, configs/track_api.yaml
and configs/live_view.yaml (from the working directory) against it. Open
http://127.0.0.1:8080/ to watch the windows fill.`,
		Flags: embeddedFlags(),
		Action: func(c *cli.Context) error {
			e := newEmbeddedEnv("demo")
			if err := e.start(c, c.Bool(flagDemo)); err != nil {
				return err
			}
			defer e.stop()
			return runDemoJobs(c.Context, e)
		},
	}
}

func runDemoJobs(ctx context.Context, e *embeddedEnv) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	jobs, err := demoJobs()
	if err != nil {
		return err
	}
	exited := make(chan error, len(jobs))
	var cmds []*exec.Cmd
	for _, j := range jobs {
		if _, err := os.Stat(j.config); err != nil {
			return fmt.Errorf("demo needs %s: run it from the repository root (%w)", j.config, err)
		}
		cmd := exec.Command(self, j.args()...)
		cmd.Env = append(os.Environ(), j.env...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("starting %s: %w", j.config, err)
		}
		cmds = append(cmds, cmd)
		go func(config string) { exited <- fmt.Errorf("%s exited: %v", config, cmd.Wait()) }(j.config)
	}
	fmt.Printf(demoBanner, envOr("LIVE_VIEW_ADDRESS", "127.0.0.1:8080"), envOr("TRACK_API_ADDRESS", "127.0.0.1:8000"),
		time.Now().UTC().Format("2006-01-02T15:04:05"), httpAddress(), e.broker.Addr(), summaryEvery, dataDirText(e.broker.DataDir()))
	summaryCtx, stopSummary := context.WithCancel(ctx)
	defer stopSummary()
	go e.summarize(summaryCtx, summaryEvery)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	var result error
	select {
	case <-sig:
	case <-ctx.Done():
	case result = <-exited:
	}
	// Let each job finish its in-flight writes before the broker goes.
	for _, cmd := range cmds {
		_ = cmd.Process.Signal(syscall.SIGTERM)
	}
	deadline := time.After(30 * time.Second)
	for range len(cmds) - boolToInt(result != nil) {
		select {
		case <-exited:
		case <-deadline:
			for _, cmd := range cmds {
				_ = cmd.Process.Kill()
			}
			return fmt.Errorf("demo jobs did not stop within 30s")
		}
	}
	return result
}

// summarize logs, every interval, what the demo wrote and where it went
// since the start: the routes of the main job in numbers.
func (e *embeddedEnv) summarize(ctx context.Context, every time.Duration) {
	routes, err := demo.WatchRoutes(ctx, e.broker.Addr())
	if err != nil {
		e.logger.Warn("demo summary unavailable", "error", err.Error())
		return
	}
	defer routes.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		kv, err := routes.Summary(ctx, e.demoCounts)
		if err != nil {
			e.logger.Warn("demo summary unavailable", "error", err.Error())
			continue
		}
		e.logger.Info("demo summary: events written and where they went since the start", kv...)
	}
}

func dataDirText(dir string) string {
	if dir == "" {
		return "memory (lost on exit)"
	}
	return dir
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func boolToInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
