package main

import (
	"context"

	"github.com/redpanda-data/benthos/v4/public/service"
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
	_ "github.com/redpanda-data/connect/v4/public/components/kafka"
	_ "github.com/redpanda-data/connect/v4/public/components/prometheus"
	_ "github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	service.RunCLI(context.Background())
}
