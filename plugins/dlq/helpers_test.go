package dlq

import (
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/streamkit/pipeline/plugins/validate"
)

// logLevel is the Benthos log level of the tests' streams
// (kafkatest.RunStream); "warn" helps when one fails.
var logLevel = "none"
