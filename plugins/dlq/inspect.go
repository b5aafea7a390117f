package dlq

import (
	"sort"
	"sync"
	"time"
)

// Sample is one dead letter shown by inspect.
type Sample struct {
	Key       string `json:"key"`
	Class     string `json:"class"`
	Error     string `json:"error"`
	Topic     string `json:"topic"`
	Partition int64  `json:"partition"`
	Offset    int64  `json:"offset"`
	Failed    string `json:"failed_at"`
	Value     string `json:"value"`
}

// Count is a value with its number of dead letters.
type Count struct {
	Value string `json:"value"`
	N     int    `json:"n"`
}

// Summary is the result of inspecting a DLQ.
type Summary struct {
	Total      int      `json:"total"`
	Matched    int      `json:"matched"`
	ByClass    []Count  `json:"by_class"`
	ByError    []Count  `json:"by_error"`
	First      string   `json:"first_failure,omitempty"`
	Last       string   `json:"last_failure,omitempty"`
	Samples    []Sample `json:"samples"`
	Unreadable int      `json:"unreadable"`
}

// Inspector aggregates dead letters; safe for concurrent use.
type Inspector struct {
	Filter     Filter
	MaxSamples int
	MaxErrors  int // distinct error messages listed

	mu         sync.Mutex
	total      int
	matched    int
	unreadable int
	byClass    map[string]int
	byError    map[string]int
	first      time.Time
	last       time.Time
	samples    []Sample
}

// Add records one DLQ record and returns its class ("" when unreadable).
func (in *Inspector) Add(rec Record) string {
	h := make(map[string][]byte, len(rec.Headers))
	for _, hd := range rec.Headers {
		h[hd.Key] = hd.Value
	}
	e, d, err := Decode(h)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.total++
	if err != nil || d == "" {
		in.unreadable++
		return ""
	}
	if !in.Filter.Match(e, rec.Key, rec.TimestampMs) {
		return e.Class
	}
	if in.byClass == nil {
		in.byClass, in.byError = map[string]int{}, map[string]int{}
	}
	in.matched++
	in.byClass[e.Class]++
	in.byError[truncateUTF8(e.Error, 200)]++
	t := FailureTime(e, rec.TimestampMs)
	if in.first.IsZero() || t.Before(in.first) {
		in.first = t
	}
	if t.After(in.last) {
		in.last = t
	}
	if len(in.samples) < in.MaxSamples {
		in.samples = append(in.samples, Sample{Key: string(rec.Key), Class: e.Class, Error: e.Error,
			Topic: e.Topic, Partition: e.Partition, Offset: e.Offset, Failed: t.Format(time.RFC3339Nano),
			Value: truncateUTF8(string(rec.Value), 512)})
	}
	return e.Class
}

// Summary returns the aggregation so far, counts sorted by frequency.
func (in *Inspector) Summary() Summary {
	in.mu.Lock()
	defer in.mu.Unlock()
	s := Summary{Total: in.total, Matched: in.matched, Unreadable: in.unreadable,
		ByClass: sorted(in.byClass, 0), ByError: sorted(in.byError, in.MaxErrors),
		Samples: append([]Sample{}, in.samples...)}
	if !in.first.IsZero() {
		s.First, s.Last = in.first.Format(time.RFC3339Nano), in.last.Format(time.RFC3339Nano)
	}
	return s
}

func sorted(m map[string]int, max int) []Count {
	out := make([]Count, 0, len(m))
	for v, n := range m {
		out = append(out, Count{v, n})
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].N != out[b].N {
			return out[a].N > out[b].N
		}
		return out[a].Value < out[b].Value
	})
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}
