// Command pipeline is a Benthos v4 distribution with the Kafka components of
// Redpanda Connect and our window, validate, retry and dead-letter plugins.
// With no KAFKA_BROKERS set it runs an embedded Kafka broker, so the main job
// works on a machine with nothing else installed.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/redpanda-data/benthos/v4/public/service"

	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/redpanda-data/connect/v4/public/components/prometheus"

	_ "github.com/streamkit/pipeline/plugins/batchlines"
	_ "github.com/streamkit/pipeline/plugins/liveview"
	_ "github.com/streamkit/pipeline/plugins/retry"
	_ "github.com/streamkit/pipeline/plugins/trackapi"
	_ "github.com/streamkit/pipeline/plugins/validate"
	_ "github.com/streamkit/pipeline/plugins/window"
)

// loopbackHTTP keeps the HTTP server (metrics, /ready, the live page) off
// the network unless a config or PIPELINE_HTTP_ADDRESS asks for it: a demo
// must not open a port to everyone on the LAN.
const loopbackHTTP = "127.0.0.1:4195"

func httpAddress() string {
	if v := os.Getenv("PIPELINE_HTTP_ADDRESS"); v != "" {
		return v
	}
	return loopbackHTTP
}

func main() {
	env := newEmbeddedEnv("embedded")
	code, err := service.RunCLIToCode(context.Background(),
		service.CLIOptSetBinaryName("pipeline"),
		service.CLIOptSetProductName("pipeline"),
		service.CLIOptSetVersion(version()),
		service.CLIOptSetMainSchemaFrom(func() *service.ConfigSchema {
			s := service.GlobalEnvironment().FullConfigSchema(version())
			s.SetFieldDefault(httpAddress(), "http", "address")
			return s
		}),
		service.CLIOptCustomRunFlags(embeddedFlags(), env.startForRun),
		service.CLIOptAddCommand(brokerCommand()),
		service.CLIOptAddCommand(demoCommand()),
		service.CLIOptAddCommand(dlqCommand()),
	)
	env.stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
