package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDemoJobsExistAndGetTheirOwnHTTPPorts(t *testing.T) {
	t.Setenv("PIPELINE_HTTP_ADDRESS", "127.0.0.1:5000")
	jobs, err := demoJobs()
	if err != nil {
		t.Fatal(err)
	}
	if jobs[0].env[0] != "PIPELINE_HTTP_ADDRESS=127.0.0.1:5000" || jobs[1].env[0] != "PIPELINE_HTTP_ADDRESS=127.0.0.1:5001" ||
		jobs[2].env[0] != "PIPELINE_HTTP_ADDRESS=127.0.0.1:5002" {
		t.Errorf("main job env %v, API env %v, live view env %v", jobs[0].env, jobs[1].env, jobs[2].env)
	}
	for _, j := range jobs {
		if args := j.args(); args[0] != "-s" || args[1] != "logger.static_fields.job="+j.name || args[3] != j.config {
			t.Errorf("job %s runs with %v, want its name as a logger field", j.name, args)
		}
	}
	t.Setenv("PIPELINE_HTTP_ADDRESS", "nonsense")
	if _, err := demoJobs(); err == nil {
		t.Error("a bad PIPELINE_HTTP_ADDRESS was accepted")
	}
	for _, j := range jobs {
		if _, err := os.Stat(filepath.Join("..", "..", j.config)); err != nil {
			t.Errorf("demo config %s: %v", j.config, err)
		}
	}
}

func TestMentionsBrokersStartsTheBrokerOnlyForKafkaConfigs(t *testing.T) {
	dir := t.TempDir()
	kafka := filepath.Join(dir, "kafka.yaml")
	plain := filepath.Join(dir, "plain.yaml")
	_ = os.WriteFile(kafka, []byte("input:\n  redpanda:\n    seed_brokers: [ \"${KAFKA_BROKERS}\" ]\n"), 0o644)
	_ = os.WriteFile(plain, []byte("input:\n  generate: { mapping: 'root = 1' }\n"), 0o644)
	cases := []struct {
		paths []string
		want  bool
	}{
		{[]string{kafka}, true},
		{[]string{plain}, false},
		{[]string{plain, kafka}, true},
		{nil, true}, // default config paths: the shipped configs use Kafka
		{[]string{filepath.Join(dir, "missing.yaml")}, true},
	}
	for _, c := range cases {
		if got := mentionsBrokers(c.paths); got != c.want {
			t.Errorf("mentionsBrokers(%v) = %v, want %v", c.paths, got, c.want)
		}
	}
}
