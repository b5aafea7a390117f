package main

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/meta"
	"github.com/streamkit/pipeline/plugins/dlq"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

// dlqReplayConfig is the stream config of `dlq replay` (configs/dlq_replay.yaml
// is the copy users run; a test keeps them equal). dlqInspectConfig is that
// of `dlq inspect`.
//
//go:embed dlq_replay.yaml
var dlqReplayConfig string

//go:embed dlq_inspect.yaml
var dlqInspectConfig string

// dlqOptions of a command run; they become the templates' environment
// variables.
type dlqOptions struct {
	Brokers       string
	Topic         string
	Class         string
	ErrorContains string
	Since, Until  string
	Key           string
	To            string
	DryRun        bool
	Rate          int
	MaxReplays    int
	Samples       int
	LogLevel      string // Benthos log level, default warn
}

func (o dlqOptions) env() map[string]string {
	env := map[string]string{
		"KAFKA_BROKERS": o.Brokers, "DLQ_TOPIC": o.Topic, "DLQ_CLASS": o.Class,
		"DLQ_ERROR_CONTAINS": o.ErrorContains, "DLQ_SINCE": o.Since, "DLQ_UNTIL": o.Until,
		"DLQ_KEY": o.Key, "DLQ_TO": o.To, "DLQ_DRY_RUN": strconv.FormatBool(o.DryRun),
	}
	if o.Rate > 0 {
		env["DLQ_RATE"] = strconv.Itoa(o.Rate)
	}
	if o.MaxReplays > 0 {
		env["DLQ_MAX_REPLAYS"] = strconv.Itoa(o.MaxReplays)
	}
	if o.Samples > 0 {
		env["DLQ_SAMPLES"] = strconv.Itoa(o.Samples)
	}
	return env
}

// replayStats counts what a replay did.
type replayStats struct {
	Replayed int64 `json:"replayed"`
	Skipped  int64 `json:"skipped"`
	Refused  int64 `json:"refused"`
	DryRun   bool  `json:"dry_run"`
	// Records are the dead letters a dry run would replay or refuse, each
	// with where it is and why (skipped ones are only counted).
	Records []dryRunRecord `json:"records,omitempty"`
}

// dlqInspect reads the DLQ topic to its current end and aggregates it.
func dlqInspect(ctx context.Context, o dlqOptions) (dlq.Summary, error) {
	samples := o.Samples
	if samples <= 0 {
		samples = 5
	}
	in := &dlq.Inspector{MaxSamples: samples, MaxErrors: 20}
	_, err := runDLQStream(ctx, o, dlqInspectConfig, func(env *service.Environment, run *dlqRun) error {
		return env.RegisterBatchProcessor("dlq_inspect", dlq.InspectSpec(),
			func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
				return dlq.NewInspectProcessor(conf, res, in, run.observe)
			})
	})
	if err != nil {
		return dlq.Summary{}, err
	}
	return in.Summary(), nil
}

// dlqReplay reads the DLQ topic to its current end and replays the selected
// dead letters.
func dlqReplay(ctx context.Context, o dlqOptions) (replayStats, error) {
	if o.DryRun {
		return dryRun(ctx, o)
	}
	run, err := runDLQStream(ctx, o, dlqReplayConfig, func(env *service.Environment, run *dlqRun) error {
		return env.RegisterBatchProcessor("dlq_replay", dlq.ReplaySpec(),
			func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
				return dlq.NewReplayProcessor(conf, res, run.replayedRecord)
			})
	})
	if err != nil {
		return replayStats{}, err
	}
	return replayStats{Replayed: run.replayed.Load(), Skipped: run.skipped.Load(), Refused: run.refused.Load(), DryRun: o.DryRun}, nil
}

// runDLQStream runs the stream config tmpl over the DLQ topic until it is
// read to its current end. register puts the run's processors on a clone
// of the global environment, with closures over this run.
func runDLQStream(ctx context.Context, o dlqOptions, tmpl string, register func(*service.Environment, *dlqRun) error) (*dlqRun, error) {
	if o.Topic == "" {
		return nil, fmt.Errorf("a DLQ topic is required (--topic)")
	}
	if o.Brokers == "" {
		o.Brokers = "localhost:9092"
	}
	ends, err := endOffsets(ctx, o.Brokers, o.Topic)
	if err != nil {
		return nil, err
	}
	run := newDLQRun(ends)
	select {
	case <-run.Done():
		return run, nil // empty topic
	default:
	}
	env := service.GlobalEnvironment().Clone()
	if err := register(env, run); err != nil {
		return nil, err
	}
	vars := o.env()
	vars["DLQ_PARTITIONS"] = partitionRange(ends)
	b := env.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) {
		if v, ok := vars[k]; ok && v != "" {
			return v, true
		}
		return "", false // the template's defaults apply, never the process env
	})
	if err := b.SetYAML(tmpl); err != nil {
		return nil, err
	}
	if err := b.SetLoggerYAML("level: " + cmp.Or(o.LogLevel, "error")); err != nil {
		return nil, err
	}
	s, err := b.Build()
	if err != nil {
		return nil, err
	}
	runErr := make(chan error, 1)
	go func() { runErr <- s.Run(ctx) }()
	select {
	case <-run.Done():
	case err := <-runErr:
		return run, err
	case <-ctx.Done():
	}
	// Graceful: in-flight replays are written and acknowledged first.
	if err := s.StopWithin(30 * time.Second); err != nil {
		return run, err
	}
	return run, ctx.Err()
}

func endOffsets(ctx context.Context, brokers, topic string) (map[int64]int64, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(brokers, ",")...))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	lctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	offs, err := kadm.NewClient(cl).ListEndOffsets(lctx, topic)
	if err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	if err := offs.Error(); err != nil {
		return nil, fmt.Errorf("end offsets of %s: %w", topic, err)
	}
	ends := map[int64]int64{}
	offs.Each(func(lo kadm.ListedOffset) { ends[int64(lo.Partition)] = lo.Offset })
	return ends, nil
}

// partitionRange is the redpanda input's explicit partition syntax for all
// partitions of a topic ("0-11").
func partitionRange(ends map[int64]int64) string {
	var hi int64
	for p := range ends {
		hi = max(hi, p)
	}
	if hi == 0 {
		return "0"
	}
	return fmt.Sprintf("0-%d", hi)
}

func filterFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "brokers", EnvVars: []string{"KAFKA_BROKERS"}, Value: "localhost:9092", Usage: "Kafka brokers, comma separated"},
		&cli.StringFlag{Name: "topic", Required: true, Usage: "dead-letter topic"},
		&cli.StringFlag{Name: "class", Usage: "comma-separated error classes (" + strings.Join(meta.Classes, ", ") + ")"},
		&cli.StringFlag{Name: "error-contains", Usage: "error text substring (case-insensitive)"},
		&cli.StringFlag{Name: "since", Usage: "failures at or after (RFC 3339)"},
		&cli.StringFlag{Name: "until", Usage: "failures before (RFC 3339)"},
		&cli.StringFlag{Name: "key", Usage: "exact record key"},
		&cli.StringFlag{Name: "log-level", Value: "error", Usage: "stream log level"},
	}
}

func dlqOptionsFrom(c *cli.Context) dlqOptions {
	return dlqOptions{Brokers: c.String("brokers"), Topic: c.String("topic"), Class: c.String("class"),
		ErrorContains: c.String("error-contains"), Since: c.String("since"), Until: c.String("until"),
		Key: c.String("key"), To: c.String("to"), DryRun: c.Bool("dry-run"), Rate: c.Int("rate"),
		MaxReplays: c.Int("max-replays"), Samples: c.Int("samples"), LogLevel: c.String("log-level")}
}

// dlqCommand is the `dlq` command.
func dlqCommand() *cli.Command {
	return &cli.Command{
		Name:  "dlq",
		Usage: "Inspect and replay dead-letter topics (native, Kafka Connect and Spring headers)",
		Subcommands: []*cli.Command{
			{
				Name:  "inspect",
				Usage: "Count dead letters by error class and message, show the failure time range and samples (JSON)",
				Flags: append(filterFlags(), &cli.IntFlag{Name: "samples", Value: 5, Usage: "sample records to show"}),
				Action: func(c *cli.Context) error {
					ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
					defer stop()
					s, err := dlqInspect(ctx, dlqOptionsFrom(c))
					if err != nil {
						return err
					}
					return printJSON(c.App.Writer, s)
				},
			},
			{
				Name:  "replay",
				Usage: "Send selected dead letters back to their original topic (or --to)",
				Flags: append(filterFlags(),
					&cli.StringFlag{Name: "to", Usage: "destination topic instead of the original one"},
					&cli.BoolFlag{Name: "dry-run", Usage: "print each record that would be replayed (or refused, and why), write nothing"},
					&cli.IntFlag{Name: "rate", Usage: "records per second (0 = unlimited)"},
					&cli.IntFlag{Name: "max-replays", Value: 3, Usage: "refuse records already replayed this often"},
				),
				Action: func(c *cli.Context) error {
					ctx, stop := signal.NotifyContext(c.Context, os.Interrupt)
					defer stop()
					st, err := dlqReplay(ctx, dlqOptionsFrom(c))
					if err != nil {
						return err
					}
					return printJSON(c.App.Writer, st)
				},
			},
		},
	}
}

func printJSON(w io.Writer, v any) error {
	if w == nil {
		w = os.Stdout
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
