package main

import (
	"context"
	"log/slog"
	"os"
	"slices"

	"github.com/streamkit/pipeline/internal/demo"
	"github.com/streamkit/pipeline/internal/embedded"
	"github.com/urfave/cli/v2"
)

const (
	flagBrokerPort = "broker-port"
	flagDataDir    = "data-dir"
	flagInMemory   = "in-memory"
	flagDemo       = "demo"
	flagDemoRate   = "demo-rate"
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
	}
}

// embeddedEnv owns the broker and demo producer started for a run.
type embeddedEnv struct {
	broker     *embedded.Broker
	stopDemo   context.CancelFunc
	demoDone   chan struct{}
	logger     *slog.Logger
	lookupEnv  func(string) (string, bool)
	setEnv     func(string, string) error
	serviceCmd func(*cli.Context) bool
}

func newEmbeddedEnv() *embeddedEnv {
	return &embeddedEnv{
		logger:     slog.New(slog.NewTextHandler(os.Stderr, nil)),
		lookupEnv:  os.LookupEnv,
		setEnv:     os.Setenv,
		serviceCmd: runsStreams,
	}
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
	if !e.serviceCmd(c) {
		return nil
	}
	if v, ok := e.lookupEnv("KAFKA_BROKERS"); ok && v != "" {
		return nil
	}
	return e.start(c, c.Bool(flagDemo))
}

func (e *embeddedEnv) start(c *cli.Context, withDemo bool) error {
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
	if err := e.setEnv("KAFKA_BROKERS", b.Addr()); err != nil {
		return err
	}
	e.logger.Info(b.Describe())
	if withDemo {
		ctx, cancel := context.WithCancel(context.Background())
		e.stopDemo, e.demoDone = cancel, make(chan struct{})
		rate := c.Float64(flagDemoRate)
		e.logger.Info("demo producer writing clickstream events", "topic", demo.DefaultTopic, "per_second", rate, "disable", "--demo=false or PIPELINE_DEMO=false")
		go func() {
			defer close(e.demoDone)
			_ = demo.Run(ctx, demo.ProducerOptions{Brokers: b.Addr(), Rate: rate, Log: func(f string, a ...any) {
				e.logger.Warn("demo producer", "error", fmtString(f, a...))
			}})
		}()
	}
	return nil
}

// stop ends the demo before the broker, so its last writes are not errors.
func (e *embeddedEnv) stop() {
	if e.stopDemo != nil {
		e.stopDemo()
		<-e.demoDone
	}
	if e.broker != nil {
		e.broker.Close()
	}
}
