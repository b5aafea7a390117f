package dlq

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/urfave/cli/v2"
)

// ReplayConfig is the stream config of `dlq replay`; the lead copies it to
// configs/dlq_replay.yaml. InspectConfig is that of `dlq inspect`.
//
//go:embed dlq_replay.yaml
var ReplayConfig string

//go:embed dlq_inspect.yaml
var InspectConfig string

// Options of a CLI run; they become the templates' environment variables.
type Options struct {
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

func (o Options) env(runID string) map[string]string {
	env := map[string]string{
		"KAFKA_BROKERS": o.Brokers, "DLQ_TOPIC": o.Topic, "DLQ_CLASS": o.Class,
		"DLQ_ERROR_CONTAINS": o.ErrorContains, "DLQ_SINCE": o.Since, "DLQ_UNTIL": o.Until,
		"DLQ_KEY": o.Key, "DLQ_TO": o.To, "DLQ_DRY_RUN": strconv.FormatBool(o.DryRun),
		"DLQ_RUN_ID": runID,
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

// ReplayStats counts what a replay did.
type ReplayStats struct {
	Replayed int64 `json:"replayed"`
	Skipped  int64 `json:"skipped"`
	Refused  int64 `json:"refused"`
	DryRun   bool  `json:"dry_run"`
	// Records are the dead letters a dry run would replay or refuse, each
	// with where it is and why (skipped ones are only counted).
	Records []DryRunRecord `json:"records,omitempty"`
}

// Inspect reads the DLQ topic to its current end and aggregates it.
func Inspect(ctx context.Context, o Options) (Summary, error) {
	samples := o.Samples
	if samples <= 0 {
		samples = 5
	}
	in := &Inspector{MaxSamples: samples, MaxErrors: 20}
	if _, err := runTemplate(ctx, o, InspectConfig, func(r *Run) { r.Inspector = in }); err != nil {
		return Summary{}, err
	}
	return in.Summary(), nil
}

// Replay reads the DLQ topic to its current end and replays the selected
// dead letters.
func Replay(ctx context.Context, o Options) (ReplayStats, error) {
	if o.DryRun {
		return dryRun(ctx, o)
	}
	run, err := runTemplate(ctx, o, ReplayConfig, nil)
	if err != nil {
		return ReplayStats{}, err
	}
	return ReplayStats{Replayed: run.Replayed.Load(), Skipped: run.Skipped.Load(), Refused: run.Refused.Load(), DryRun: o.DryRun}, nil
}

var runSeq atomic.Int64

func runTemplate(ctx context.Context, o Options, tmpl string, setup func(*Run)) (*Run, error) {
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
	id := fmt.Sprintf("dlq-cli-%d-%d", os.Getpid(), runSeq.Add(1))
	run := NewRun(id, ends)
	defer run.Close(id)
	if setup != nil {
		setup(run)
	}
	select {
	case <-run.Done():
		return run, nil // empty topic
	default:
	}
	env := o.env(id)
	env["DLQ_PARTITIONS"] = partitionRange(ends)
	b := service.NewStreamBuilder()
	b.SetEnvVarLookupFunc(func(k string) (string, bool) {
		if v, ok := env[k]; ok && v != "" {
			return v, true
		}
		return "", false // the template's defaults apply, never the process env
	})
	if err := b.SetYAML(tmpl); err != nil {
		return nil, err
	}
	if err := b.SetLoggerYAML("level: " + firstNonEmpty(o.LogLevel, "error")); err != nil {
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
		&cli.StringFlag{Name: "class", Usage: "comma-separated error classes (validation, processing, late, retries_exhausted, fatal)"},
		&cli.StringFlag{Name: "error-contains", Usage: "error text substring (case-insensitive)"},
		&cli.StringFlag{Name: "since", Usage: "failures at or after (RFC 3339)"},
		&cli.StringFlag{Name: "until", Usage: "failures before (RFC 3339)"},
		&cli.StringFlag{Name: "key", Usage: "exact record key"},
		&cli.StringFlag{Name: "log-level", Value: "error", Usage: "stream log level"},
	}
}

func optionsFrom(c *cli.Context) Options {
	return Options{Brokers: c.String("brokers"), Topic: c.String("topic"), Class: c.String("class"),
		ErrorContains: c.String("error-contains"), Since: c.String("since"), Until: c.String("until"),
		Key: c.String("key"), To: c.String("to"), DryRun: c.Bool("dry-run"), Rate: c.Int("rate"),
		MaxReplays: c.Int("max-replays"), Samples: c.Int("samples"), LogLevel: c.String("log-level")}
}

// CLICommand is the `dlq` command; cmd/pipeline adds it with
// service.CLIOptAddCommand(dlq.CLICommand()).
func CLICommand() *cli.Command {
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
					s, err := Inspect(ctx, optionsFrom(c))
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
					st, err := Replay(ctx, optionsFrom(c))
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
