package dlq

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter selects dead letters. Zero values match everything.
type Filter struct {
	Classes       []string // any of
	ErrorContains string   // case-insensitive substring of the error
	Since, Until  time.Time
	Key           []byte // nil = any key
}

// FailureTime is when a dead letter failed: the envelope's last failure, or
// the DLQ record's own timestamp for envelopes without one (Connect, Spring).
func FailureTime(e Envelope, dlqTimestampMs int64) time.Time {
	if e.LastFailureMs != Unknown {
		return time.UnixMilli(e.LastFailureMs).UTC()
	}
	return time.UnixMilli(dlqTimestampMs).UTC()
}

// Match reports whether a decoded dead letter passes the filter.
func (f Filter) Match(e Envelope, key []byte, dlqTimestampMs int64) bool {
	if len(f.Classes) > 0 {
		found := false
		for _, c := range f.Classes {
			found = found || strings.EqualFold(c, e.Class)
		}
		if !found {
			return false
		}
	}
	if f.ErrorContains != "" && !strings.Contains(strings.ToLower(e.Error), strings.ToLower(f.ErrorContains)) {
		return false
	}
	t := FailureTime(e, dlqTimestampMs)
	if !f.Since.IsZero() && t.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !t.Before(f.Until) {
		return false
	}
	return f.Key == nil || bytes.Equal(f.Key, key)
}

// Replayer turns dead letters back into records for their original topic.
type Replayer struct {
	Filter
	To         string // destination override; empty = original topic
	MaxReplays int    // a record already replayed this often is refused
}

// Outcome of one dead letter.
type Outcome int

const (
	Replayable Outcome = iota // send Headers to Topic
	Skip                      // filtered out
	Refused                   // Err says why
)

// Decision is what to do with one dead letter.
type Decision struct {
	Outcome  Outcome
	Envelope Envelope
	Topic    string
	Headers  []Header // original headers plus dlq_replay_count, envelope stripped
	Count    int64    // replay count after this replay
	Err      error
}

// Decide decodes the envelope of a DLQ record (any dialect), applies the
// filter and the replay limit, and strips the envelope.
func (r Replayer) Decide(rec Record) Decision {
	h := make(map[string][]byte, len(rec.Headers))
	for _, hd := range rec.Headers {
		h[hd.Key] = hd.Value
	}
	e, d, err := Decode(h)
	dec := Decision{Envelope: e}
	if err != nil {
		return Decision{Outcome: Refused, Envelope: e, Err: err}
	}
	if d == "" {
		return Decision{Outcome: Refused, Envelope: e, Err: fmt.Errorf("no dead-letter envelope in the headers")}
	}
	if !r.Match(e, rec.Key, rec.TimestampMs) {
		dec.Outcome = Skip
		return dec
	}
	if v, ok := h[HReplayCount]; ok {
		n, perr := strconv.ParseInt(string(v), 10, 64)
		if perr != nil {
			return Decision{Outcome: Refused, Envelope: e, Err: fmt.Errorf("%s %q is not a number", HReplayCount, v)}
		}
		dec.Count = n
	}
	if dec.Count >= int64(r.MaxReplays) {
		dec.Outcome, dec.Err = Refused, fmt.Errorf("replayed %d times already (max_replays %d)", dec.Count, r.MaxReplays)
		return dec
	}
	dec.Count++
	if dec.Topic = firstNonEmpty(r.To, e.Topic); dec.Topic == "" {
		return Decision{Outcome: Refused, Envelope: e, Err: fmt.Errorf("no original topic in the envelope and no destination given")}
	}
	for _, hd := range rec.Headers {
		if !IsEnvelopeKey(hd.Key) && hd.Key != HReplayCount {
			dec.Headers = append(dec.Headers, hd)
		}
	}
	dec.Headers = append(dec.Headers, Header{HReplayCount, []byte(strconv.FormatInt(dec.Count, 10))})
	return dec
}
