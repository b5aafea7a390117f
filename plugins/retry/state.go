package retry

import (
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/streamkit/pipeline/internal/meta"
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
		{meta.RetryAttempt, strconv.Itoa(s.Attempt)},
		{meta.RetryDueMs, strconv.FormatInt(s.DueMs, 10)},
		{meta.RetryFirstFailureMs, strconv.FormatInt(s.FirstFailureMs, 10)},
		{meta.RetryLastFailureMs, strconv.FormatInt(s.LastFailureMs, 10)},
		{meta.RetryOriginalTopic, s.OriginalTopic},
		{meta.RetryOriginalPartition, strconv.FormatInt(int64(s.OriginalPartition), 10)},
		{meta.RetryOriginalOffset, strconv.FormatInt(s.OriginalOffset, 10)},
		{meta.RetryOriginalTimestampMs, strconv.FormatInt(s.OriginalTimestampMs, 10)},
		{meta.RetryLastError, truncateUTF8(s.LastError, maxErrorLen)},
	}
	if s.OrderTicket != 0 {
		out = append(out, Field{meta.RetryOrderTicket, strconv.FormatUint(s.OrderTicket, 10)})
	}
	return out
}

// DecodeState reads the state through get (a header or metadata lookup).
// ok is false when the message carries no retry state (no retry_attempt),
// i.e. it has never failed. A present but malformed field is an error so a
// corrupted record is dead-lettered rather than silently restarted.
func DecodeState(get func(string) (string, bool)) (st State, ok bool, err error) {
	a, ok := get(meta.RetryAttempt)
	if !ok {
		return State{}, false, nil
	}
	if st.Attempt, err = strconv.Atoi(a); err != nil || st.Attempt < 0 {
		return State{}, true, fmt.Errorf("%s: invalid value %q", meta.RetryAttempt, a)
	}
	ints := []struct {
		key string
		dst *int64
	}{
		{meta.RetryDueMs, &st.DueMs},
		{meta.RetryFirstFailureMs, &st.FirstFailureMs},
		{meta.RetryLastFailureMs, &st.LastFailureMs},
		{meta.RetryOriginalOffset, &st.OriginalOffset},
		{meta.RetryOriginalTimestampMs, &st.OriginalTimestampMs},
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
	if v, present := get(meta.RetryOriginalPartition); present && v != "" {
		p, perr := strconv.ParseInt(v, 10, 32)
		if perr != nil {
			return State{}, true, fmt.Errorf("%s: invalid value %q", meta.RetryOriginalPartition, v)
		}
		st.OriginalPartition = int32(p)
	}
	if v, present := get(meta.RetryOrderTicket); present && v != "" {
		if st.OrderTicket, err = strconv.ParseUint(v, 10, 64); err != nil {
			return State{}, true, fmt.Errorf("%s: invalid value %q", meta.RetryOrderTicket, v)
		}
	}
	st.OriginalTopic, _ = get(meta.RetryOriginalTopic)
	st.LastError, _ = get(meta.RetryLastError)
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
