package main

import (
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/urfave/cli/v2"
)

// brokerCommand runs the embedded broker alone, for several pipelines, other
// clients and tests that must outlive a pipeline process.
func brokerCommand() *cli.Command {
	return &cli.Command{
		Name:  "broker",
		Usage: "Run the embedded Kafka broker alone (with the same options as the run mode)",
		Description: `Starts franz-go's kfake broker on 127.0.0.1 and blocks until interrupted:
nothing else (no profile service, no jobs). Other pipelines use it with
KAFKA_BROKERS=127.0.0.1:<port>. Demo events are off here unless --demo is
given. The data directory is locked while it runs.

  pipeline broker --broker-port 9092 --data-dir pipeline-data`,
		Flags: brokerFlags(),
		Action: func(c *cli.Context) error {
			e := newEmbeddedEnv("broker")
			if err := e.startBroker(c); err != nil {
				return err
			}
			defer e.stop()
			if c.Bool(flagDemo) {
				e.startDemo(c.Float64(flagDemoRate))
			}
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			return nil
		},
	}
}

// brokerFlags are the run flags with the demo off by default (a bare broker
// that writes events nobody asked for would pollute tests) and without the
// profile service's, which the broker does not start.
func brokerFlags() []cli.Flag {
	var fs []cli.Flag
	for _, f := range embeddedFlags() {
		if b, ok := f.(*cli.BoolFlag); ok && b.Name == flagDemo {
			b.Value = false
			b.EnvVars = nil
		}
		if slices.Contains(f.Names(), flagProfileFail) {
			continue
		}
		fs = append(fs, f)
	}
	return fs
}
