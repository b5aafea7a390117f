package kafkatest

import (
	"context"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// RunStream builds a stream from a full YAML config, runs it in the
// background and stops it (waiting up to 10 s) when the test ends. logLevel
// is Benthos' (none, warn, info, ...).
func RunStream(t testing.TB, yaml, logLevel string) *service.Stream {
	t.Helper()
	b := service.NewStreamBuilder()
	if err := b.SetYAML(yaml); err != nil {
		t.Fatalf("stream config: %v", err)
	}
	if err := b.SetLoggerYAML("level: " + logLevel); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatalf("build stream: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = s.Run(context.Background()); close(done) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		<-done
	})
	return s
}
