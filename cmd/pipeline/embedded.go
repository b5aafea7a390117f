package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/streamkit/pipeline/internal/demo"
	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/streamkit/pipeline/internal/profileservice"
	"github.com/urfave/cli/v2"
)

const (
	flagBrokerPort  = "broker-port"
	flagDataDir     = "data-dir"
	flagInMemory    = "in-memory"
	flagDemo        = "demo"
	flagDemoRate    = "demo-rate"
	flagProfileFail = "profile-fail-rate"
)

// embeddedFlags are shared by the run/streams modes and `pipeline broker`,
// each also settable by environment variable for containers and CI.
func embeddedFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: flagBrokerPort, Value: embedded.DefaultPort, EnvVars: []string{"PIPELINE_BROKER_PORT"},
			Usage: "port of the embedded Kafka broker on 127.0.0.1 (used only when KAFKA_BROKERS is unset)"},
		&cli.StringFlag{Name: flagDataDir, Value: embedded.DefaultDataDir, EnvVars: []string{"PIPELINE_DATA_DIR"},
			Usage: "where the embedded broker keeps records and committed offsets across restarts"},
		&cli.BoolFlag{Name: flagInMemory, EnvVars: []string{"PIPELINE_IN_MEMORY"},
			Usage: "keep the embedded broker's data in memory only (lost on exit)"},
		&cli.BoolFlag{Name: flagDemo, Value: true, EnvVars: []string{"PIPELINE_DEMO"},
			Usage: "with the embedded broker, produce demo clickstream events to topic clickstream (--demo=false to turn off); never against a real cluster"},
		&cli.Float64Flag{Name: flagDemoRate, Value: 5, EnvVars: []string{"PIPELINE_DEMO_RATE"},
			Usage: "demo events per second"},
		&cli.Float64Flag{Name: flagProfileFail, Value: 0.1, EnvVars: []string{"PIPELINE_PROFILE_FAIL_RATE"},
			Usage: "with the embedded broker and no PROFILE_URL, the local profile service fails this fraction of requests (503), so retries have work"},
	}
}

// embeddedEnv owns the broker, demo producer and profile service started
// for a run.
type embeddedEnv struct {
	broker      *embedded.Broker
	stopDemo    context.CancelFunc
	stopProfile func()
	demoDone    chan struct{}
	demoCounts  *demo.Counts // what the demo producer wrote, by kind
	tmpWAL      string       // removed on stop (--in-memory runs)
	logger      *slog.Logger
}

// newEmbeddedEnv logs as job (demo, broker, embedded), in the logfmt shape
// of the Benthos jobs' own lines (time, lowercase level, msg, job=...), so a
// terminal that shows both reads as one log.
func newEmbeddedEnv(job string) *embeddedEnv {
	return &embeddedEnv{logger: newLogger(os.Stderr, job)}
}

func newLogger(w io.Writer, job string) *slog.Logger {
	h := slog.NewTextHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		switch {
		case len(groups) > 0:
		case a.Key == slog.TimeKey:
			return slog.String(slog.TimeKey, a.Value.Time().UTC().Format(time.RFC3339))
		case a.Key == slog.LevelKey:
			return slog.String(slog.LevelKey, strings.ToLower(a.Value.String()))
		}
		return a
	}})
	return slog.New(h).With("job", job)
}

// runsStreams tells the run and streams modes, which need a broker, from
// lint, test, echo and blobl, which share the run flags but must not start
// one (a linter that opens port 9092 would surprise everyone).
func runsStreams(c *cli.Context) bool {
	if c.Command == nil {
		return true
	}
	return slices.Contains([]string{"", "pipeline", "run", "streams"}, c.Command.Name)
}

// startForRun is called by the CLI after flags are parsed and before the
// config is read, so ${KAFKA_BROKERS} in configs resolves to the broker.
func (e *embeddedEnv) startForRun(c *cli.Context) error {
	if !runsStreams(c) {
		return nil
	}
	if v, ok := os.LookupEnv("KAFKA_BROKERS"); ok && v != "" {
		return nil
	}
	if !mentionsBrokers(configPaths(c)) {
		return nil
	}
	return e.start(c, c.Bool(flagDemo))
}

// configPaths are the config files a run or streams command was given.
func configPaths(c *cli.Context) []string {
	var paths []string
	for _, ctx := range c.Lineage() {
		if p := ctx.String("config"); p != "" {
			paths = append(paths, p)
		}
	}
	return append(paths, c.Args().Slice()...)
}

// mentionsBrokers tells whether a config needs Kafka: a job that never says
// KAFKA_BROKERS (a generate → stdout test, an HTTP server) must not hold
// port 9092 or fail because another broker has it. With no readable config
// the broker starts, as the configs this project ships all use it.
func mentionsBrokers(paths []string) bool {
	read := false
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		read = true
		if strings.Contains(string(b), "KAFKA_BROKERS") {
			return true
		}
	}
	return !read
}

// start runs the broker, the local profile service (unless PROFILE_URL
// names a real one) and, withDemo, the demo producer.
func (e *embeddedEnv) start(c *cli.Context, withDemo bool) error {
	if err := e.startBroker(c); err != nil {
		return err
	}
	if v, ok := os.LookupEnv("PROFILE_URL"); !ok || v == "" {
		if err := e.startProfileService(c.Float64(flagProfileFail)); err != nil {
			return err
		}
	}
	if withDemo {
		e.startDemo(c.Float64(flagDemoRate))
	}
	return nil
}

// startBroker runs the broker alone and points KAFKA_BROKERS (and the
// window log) at it.
func (e *embeddedEnv) startBroker(c *cli.Context) error {
	b, err := embedded.Start(embedded.Options{
		Port:     c.Int(flagBrokerPort),
		DataDir:  c.String(flagDataDir),
		InMemory: c.Bool(flagInMemory),
		Topics:   embedded.ProjectTopics,
	})
	if err != nil {
		return err
	}
	e.broker = b
	if err := os.Setenv("KAFKA_BROKERS", b.Addr()); err != nil {
		return err
	}
	e.logger.Info(b.Describe())
	return e.setWALDir(c)
}

// startDemo writes demo clickstream events to the broker until stop.
func (e *embeddedEnv) startDemo(rate float64) {
	ctx, cancel := context.WithCancel(context.Background())
	e.stopDemo, e.demoDone, e.demoCounts = cancel, make(chan struct{}), &demo.Counts{}
	e.logger.Info("demo producer writing clickstream events", "topic", demo.DefaultTopic, "per_second", rate, "disable", "--demo=false or PIPELINE_DEMO=false")
	go func() {
		defer close(e.demoDone)
		_ = demo.Run(ctx, demo.ProducerOptions{Brokers: e.broker.Addr(), Rate: rate, Counts: e.demoCounts, Log: func(f string, a ...any) {
			e.logger.Warn("demo producer", "error", fmt.Sprintf(f, a...))
		}})
	}()
}

// setWALDir points WINDOW_WAL_DIR (the window buffer's write-ahead log in
// configs/clickstream.yaml) next to the broker's data, unless it is set: the
// log and the committed offsets describe the same progress, so they live
// and go together. An in-memory broker gets a log that goes with it.
func (e *embeddedEnv) setWALDir(c *cli.Context) error {
	if v, ok := os.LookupEnv("WINDOW_WAL_DIR"); ok && v != "" {
		return nil
	}
	dir := filepath.Join(c.String(flagDataDir), "window-wal")
	if c.Bool(flagInMemory) {
		tmp, err := os.MkdirTemp("", "pipeline-window-wal-")
		if err != nil {
			return fmt.Errorf("creating a temporary window log directory: %w", err)
		}
		dir, e.tmpWAL = tmp, tmp
	}
	return os.Setenv("WINDOW_WAL_DIR", dir)
}

// startProfileService stands in for the user-profile HTTP service that the
// main job enriches events from, failing some requests like a real
// dependency under load does.
func (e *embeddedEnv) startProfileService(failRate float64) error {
	url, _, stop, err := profileservice.Start("127.0.0.1:0", profileservice.Options{FailRate: failRate,
		AlwaysFail: func(id string) bool { return strings.HasPrefix(id, demo.NoProfilePrefix) }})
	if err != nil {
		return fmt.Errorf("starting the local profile service: %w", err)
	}
	e.stopProfile = stop
	if err := os.Setenv("PROFILE_URL", url); err != nil {
		return err
	}
	e.logger.Info("local profile service for enrichment", "url", url, "fail_rate", failRate,
		"always_fails", demo.NoProfilePrefix+"*", "real_service", "set PROFILE_URL")
	return nil
}

// stop ends the demo before the broker, so its last writes are not errors.
func (e *embeddedEnv) stop() {
	if e.stopProfile != nil {
		e.stopProfile()
	}
	if e.stopDemo != nil {
		e.stopDemo()
		<-e.demoDone
	}
	if e.broker != nil {
		e.broker.Close()
	}
	if e.tmpWAL != "" {
		_ = os.RemoveAll(e.tmpWAL)
	}
}
