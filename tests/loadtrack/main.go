// Command loadtrack measures /track ingest on loopback: configs/track_api.yaml
// and the seed's FastAPI + pydantic + kafka-python app (seed_app.py, with and
// without waiting for Kafka's acknowledgement) against one embedded broker in
// the same run, in rounds (every target once per round, medians reported), so
// a slow stretch of a shared machine hits all of them alike. Afterwards it
// reads each target's topic and checks that every request answered 200 is
// there exactly once.
//
//	go build -o bin/pipeline ./cmd/pipeline
//	go run ./tests/loadtrack                 (5,000 requests x 16 clients x 3 rounds per target)
//	go run ./tests/loadtrack -n 2000 -rounds 1 -seed=false
//
// Needs python3 with fastapi, uvicorn, pydantic and kafka-python for the seed
// app (Debian: python3-fastapi python3-uvicorn python3-pydantic python3-kafka).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"github.com/streamkit/pipeline/internal/embedded"
)

func main() {
	n := flag.Int("n", 5000, "requests per target per round")
	c := flag.Int("c", 16, "concurrent clients")
	rounds := flag.Int("rounds", 3, "rounds (each target once per round)")
	arrays := flag.Int("array", 1, "events per request (>1 sends JSON arrays; an array is one request)")
	seed := flag.Bool("seed", true, "also measure the seed app (needs python3 with fastapi, uvicorn, pydantic, kafka)")
	python := flag.String("python", defaultPython(), "python3 with the seed app's packages")
	bin := flag.String("bin", os.Getenv("PIPELINE_BIN"), "pipeline binary (default: bin/pipeline, built if missing)")
	flag.Parse()
	if err := run(*n, *c, *rounds, *arrays, *seed, *bin, *python); err != nil {
		fmt.Fprintln(os.Stderr, "loadtrack:", err)
		os.Exit(1)
	}
}

func run(n, c, rounds, perRequest int, withSeed bool, bin, python string) error {
	root := repoRoot()
	if bin == "" {
		bin = filepath.Join(root, "bin", "pipeline")
		fmt.Fprintln(os.Stderr, "building", bin)
		cmd := exec.Command("go", "build", "-o", bin, "./cmd/pipeline")
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	broker, err := embedded.Start(embedded.Options{InMemory: true})
	if err != nil {
		return err
	}
	defer broker.Close()

	targets := []*target{ours(root, bin, broker.Addr())}
	if withSeed {
		targets = append(targets, seedApp(root, python, broker.Addr(), "ack"), seedApp(root, python, broker.Addr(), "noack"))
	}
	var topics []string
	for _, t := range targets {
		topics = append(topics, t.topic)
	}
	if err := createTopics(broker.Addr(), topics); err != nil {
		return err
	}
	for _, t := range targets {
		if err := t.start(); err != nil {
			stopAll(targets)
			return err
		}
	}
	defer stopAll(targets)

	fmt.Fprintf(os.Stderr, "%d requests x %d clients x %d rounds per target, %d event(s) a request, %d CPUs\n",
		n, c, rounds, perRequest, runtime.NumCPU())
	for r := 0; r < rounds; r++ {
		for _, t := range targets {
			res := load(t, r, n, c, perRequest)
			t.results = append(t.results, res)
			fmt.Fprintf(os.Stderr, "round %d %-22s %7.0f req/s  p50 %6.1f ms  p99 %6.1f ms  %v\n",
				r+1, t.name, res.rate, ms(res.p50), ms(res.p99), res.statuses)
		}
	}
	fmt.Printf("\n| /track (%d concurrent clients, %d requests x %d rounds, medians) | req/s | p50 ms | p99 ms | 200s | every 200 in Kafka once |\n|---|---:|---:|---:|---:|---|\n", c, n, rounds)
	for _, t := range targets {
		check, err := verify(broker.Addr(), t)
		if err != nil {
			check = "check failed: " + err.Error()
		}
		rate, p50, p99, oks := t.medians()
		fmt.Printf("| %s | %.0f | %.1f | %.1f | %d | %s |\n", t.label, rate, ms(p50), ms(p99), oks, check)
	}
	return nil
}

// defaultPython is Debian's interpreter, where apt installs the seed app's
// packages, unless it is missing (a pyenv shim may come first in PATH).
func defaultPython() string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func stopAll(ts []*target) {
	for _, t := range ts {
		t.stop()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var bg = context.Background()
