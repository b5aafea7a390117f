package retry

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Header (and metadata) names of the retry state. The dead_letter output
// reads the same names, so a message keeps one vocabulary from the first
// failure to the DLQ record.
const (
	KeyAttempt             = "retry_attempt"
	KeyDueMs               = "retry_due_ms"
	KeyFirstFailureMs      = "retry_first_failure_ms"
	KeyLastFailureMs       = "retry_last_failure_ms"
	KeyOriginalTopic       = "retry_original_topic"
	KeyOriginalPartition   = "retry_original_partition"
	KeyOriginalOffset      = "retry_original_offset"
	KeyOriginalTimestampMs = "retry_original_timestamp_ms"
	KeyLastError           = "retry_last_error"
	// KeyOrderTicket is only written in `ordering: key` mode.
	KeyOrderTicket = "retry_order_ticket"

	// Routing metadata set by the router for its `retry` child; they are
	// not state and are dropped again by the input.
	KeyRetryTopic = "retry_topic"
	KeyRetryKey   = "retry_key"
	// KeyReleasedMs is set by the input when it hands a record downstream.
	KeyReleasedMs = "retry_released_ms"
)

// maxErrorLen bounds retry_last_error: some errors embed whole response
// bodies and a header should stay small.
const maxErrorLen = 1024

// State is the retry bookkeeping a message carries between stages.
type State struct {
	Attempt             int // failed attempts so far
	DueMs               int64
	FirstFailureMs      int64
	LastFailureMs       int64
	OriginalTopic       string
	OriginalPartition   int32
	OriginalOffset      int64
	OriginalTimestampMs int64
	LastError           string
	OrderTicket         uint64 // 0 = none
}

// Field is one encoded header.
type Field struct{ Key, Value string }

// Encode returns the state as decimal-string headers in a fixed order.
func (s State) Encode() []Field {
	out := []Field{
		{KeyAttempt, strconv.Itoa(s.Attempt)},
		{KeyDueMs, strconv.FormatInt(s.DueMs, 10)},
		{KeyFirstFailureMs, strconv.FormatInt(s.FirstFailureMs, 10)},
		{KeyLastFailureMs, strconv.FormatInt(s.LastFailureMs, 10)},
		{KeyOriginalTopic, s.OriginalTopic},
		{KeyOriginalPartition, strconv.FormatInt(int64(s.OriginalPartition), 10)},
		{KeyOriginalOffset, strconv.FormatInt(s.OriginalOffset, 10)},
		{KeyOriginalTimestampMs, strconv.FormatInt(s.OriginalTimestampMs, 10)},
		{KeyLastError, truncateUTF8(s.LastError, maxErrorLen)},
	}
	if s.OrderTicket != 0 {
		out = append(out, Field{KeyOrderTicket, strconv.FormatUint(s.OrderTicket, 10)})
	}
	return out
}

// DecodeState reads the state through get (a header or metadata lookup).
// ok is false when the message carries no retry state (no retry_attempt),
// i.e. it has never failed. A present but malformed field is an error so a
// corrupted record is dead-lettered rather than silently restarted.
func DecodeState(get func(string) (string, bool)) (st State, ok bool, err error) {
	a, ok := get(KeyAttempt)
	if !ok {
		return State{}, false, nil
	}
	if st.Attempt, err = strconv.Atoi(a); err != nil || st.Attempt < 0 {
		return State{}, true, fmt.Errorf("%s: invalid value %q", KeyAttempt, a)
	}
	ints := []struct {
		key string
		dst *int64
	}{
		{KeyDueMs, &st.DueMs},
		{KeyFirstFailureMs, &st.FirstFailureMs},
		{KeyLastFailureMs, &st.LastFailureMs},
		{KeyOriginalOffset, &st.OriginalOffset},
		{KeyOriginalTimestampMs, &st.OriginalTimestampMs},
	}
	for _, f := range ints {
		v, present := get(f.key)
		if !present || v == "" {
			continue
		}
		if *f.dst, err = strconv.ParseInt(v, 10, 64); err != nil {
			return State{}, true, fmt.Errorf("%s: invalid value %q", f.key, v)
		}
	}
	if v, present := get(KeyOriginalPartition); present && v != "" {
		p, perr := strconv.ParseInt(v, 10, 32)
		if perr != nil {
			return State{}, true, fmt.Errorf("%s: invalid value %q", KeyOriginalPartition, v)
		}
		st.OriginalPartition = int32(p)
	}
	if v, present := get(KeyOrderTicket); present && v != "" {
		if st.OrderTicket, err = strconv.ParseUint(v, 10, 64); err != nil {
			return State{}, true, fmt.Errorf("%s: invalid value %q", KeyOrderTicket, v)
		}
	}
	st.OriginalTopic, _ = get(KeyOriginalTopic)
	st.LastError, _ = get(KeyLastError)
	return st, true, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
