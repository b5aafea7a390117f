// Package metricstest is a Benthos metrics exporter that records counters in
// memory, so plugin tests assert the metrics a stream produced.
package metricstest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// Recorder is a metrics exporter for tests: counters keyed by
// "name{label=value,...}" so assertions read like Prometheus series.
type Recorder struct {
	mu       sync.Mutex
	counters map[string]int64
}

var recorders sync.Map // id -> *Recorder

// Exporter is the name the recorder is registered under: a stream uses it
// with SetMetricsYAML(metricstest.YAML(id)).
const Exporter = "test_recorder"

// YAML is the metrics config that records into the recorder named id.
func YAML(id string) string { return fmt.Sprintf("%s: {id: %q}", Exporter, id) }

// Get returns the recorder a stream with YAML(id) wrote to, or nil.
func Get(id string) *Recorder {
	r, ok := recorders.Load(id)
	if !ok {
		return nil
	}
	return r.(*Recorder)
}

func init() {
	service.MustRegisterMetricsExporter(Exporter,
		service.NewConfigSpec().Field(service.NewStringField("id")),
		func(conf *service.ParsedConfig, _ *service.Logger) (service.MetricsExporter, error) {
			id, err := conf.FieldString("id")
			if err != nil {
				return nil, err
			}
			r, _ := recorders.LoadOrStore(id, &Recorder{counters: map[string]int64{}})
			return r.(*Recorder), nil
		})
}

// Count sums the counters named name whose labels include every "k=v"
// given; Benthos adds label and path labels of its own.
func (r *Recorder) Count(name string, labels ...string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for series, v := range r.counters {
		sname, rest, _ := strings.Cut(series, "{")
		if sname != name {
			continue
		}
		have := map[string]bool{}
		for _, kv := range strings.Split(strings.TrimSuffix(rest, "}"), ",") {
			have[kv] = true
		}
		all := true
		for _, l := range labels {
			all = all && have[l]
		}
		if all {
			n += v
		}
	}
	return n
}

func seriesName(name string, keys, values []string) string {
	if len(keys) == 0 {
		return name
	}
	kv := make([]string, len(keys))
	for i := range keys {
		kv[i] = keys[i] + "=" + values[i]
	}
	return name + "{" + strings.Join(kv, ",") + "}"
}

type recCounter struct {
	r      *Recorder
	series string
}

func (c recCounter) Incr(n int64) {
	c.r.mu.Lock()
	c.r.counters[c.series] += n
	c.r.mu.Unlock()
}
func (c recCounter) IncrFloat64(f float64) { c.Incr(int64(f)) }

type nopMetric struct{}

func (nopMetric) Timing(int64)        {}
func (nopMetric) Set(int64)           {}
func (nopMetric) SetFloat64(float64)  {}
func (nopMetric) Incr(int64)          {}
func (nopMetric) IncrFloat64(float64) {}
func (nopMetric) Decr(int64)          {}
func (nopMetric) DecrFloat64(float64) {}

func (r *Recorder) NewCounterCtor(name string, keys ...string) service.MetricsExporterCounterCtor {
	return func(values ...string) service.MetricsExporterCounter {
		return recCounter{r, seriesName(name, keys, values)}
	}
}
func (r *Recorder) NewTimerCtor(string, ...string) service.MetricsExporterTimerCtor {
	return func(...string) service.MetricsExporterTimer { return nopMetric{} }
}
func (r *Recorder) NewGaugeCtor(string, ...string) service.MetricsExporterGaugeCtor {
	return func(...string) service.MetricsExporterGauge { return nopMetric{} }
}
func (r *Recorder) Close(context.Context) error { return nil }
