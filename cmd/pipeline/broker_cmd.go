package main

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"
)

// brokerCommand runs the embedded broker alone, for several pipelines, other
// clients and tests that must outlive a pipeline process.
func brokerCommand() *cli.Command {
	return &cli.Command{
		Name:  "broker",
		Usage: "Run the embedded Kafka broker alone (with the same options as the run mode)",
		Description: `Starts franz-go's kfake broker on 127.0.0.1 and blocks until interrupted.
Other pipelines use it with KAFKA_BROKERS=127.0.0.1:<port>. Demo events are
off here unless --demo is given.

  pipeline broker --broker-port 9092 --data-dir pipeline-data`,
		Flags: brokerFlags(),
		Action: func(c *cli.Context) error {
			e := newEmbeddedEnv()
			if err := e.start(c, c.Bool(flagDemo)); err != nil {
				return err
			}
			defer e.stop()
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			<-sig
			return nil
		},
	}
}

// brokerFlags are the run flags with the demo off by default: a bare broker
// that writes events nobody asked for would pollute tests.
func brokerFlags() []cli.Flag {
	fs := embeddedFlags()
	for _, f := range fs {
		if b, ok := f.(*cli.BoolFlag); ok && b.Name == flagDemo {
			b.Value = false
			b.EnvVars = nil
		}
	}
	return fs
}
