package retry

import (
	"strings"
	"testing"

	"github.com/streamkit/pipeline/internal/meta"
)

func lookup(fs []Field) func(string) (string, bool) {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Key] = f.Value
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestStateRoundTrip(t *testing.T) {
	in := State{
		Attempt: 3, DueMs: 1700000001234, FirstFailureMs: 1700000000000, LastFailureMs: 1700000000999,
		OriginalTopic: "orders", OriginalPartition: 7, OriginalOffset: 123456789012,
		OriginalTimestampMs: 1699999999999, LastError: "http 503: unavailable", OrderTicket: 42,
	}
	enc := in.Encode()
	want := map[string]string{
		"retry_attempt": "3", "retry_due_ms": "1700000001234", "retry_first_failure_ms": "1700000000000",
		"retry_last_failure_ms": "1700000000999", "retry_original_topic": "orders", "retry_original_partition": "7",
		"retry_original_offset": "123456789012", "retry_original_timestamp_ms": "1699999999999",
		"retry_last_error": "http 503: unavailable", "retry_order_ticket": "42",
	}
	get := lookup(enc)
	for k, v := range want {
		if got, _ := get(k); got != v {
			t.Errorf("header %s = %q want %q", k, got, v)
		}
	}
	if len(enc) != len(want) {
		t.Errorf("got %d headers want %d", len(enc), len(want))
	}
	out, ok, err := DecodeState(get)
	if err != nil || !ok || out != in {
		t.Fatalf("round trip: %+v ok=%v err=%v", out, ok, err)
	}
	if _, ok := lookup((State{}).Encode())(meta.RetryOrderTicket); ok {
		t.Errorf("ticket written without ordering")
	}
}

func TestDecodeAbsentAndCorrupt(t *testing.T) {
	if _, ok, err := DecodeState(lookup(nil)); ok || err != nil {
		t.Fatalf("no headers: ok=%v err=%v", ok, err)
	}
	for _, key := range []string{meta.RetryAttempt, meta.RetryDueMs, meta.RetryOriginalPartition, meta.RetryOriginalOffset, meta.RetryOrderTicket} {
		fs := State{Attempt: 1, OrderTicket: 1}.Encode()
		for i := range fs {
			if fs[i].Key == key {
				fs[i].Value = "12x"
			}
		}
		_, ok, err := DecodeState(lookup(fs))
		if !ok || err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("corrupt %s: ok=%v err=%v", key, ok, err)
		}
	}
}

func TestLastErrorTruncatedOnRuneBoundary(t *testing.T) {
	long := strings.Repeat("é", maxErrorLen) // 2 bytes each
	v, _ := lookup(State{LastError: long}.Encode())(meta.RetryLastError)
	if len(v) > maxErrorLen || !strings.HasPrefix(long, v) || len(v) < maxErrorLen-1 {
		t.Fatalf("truncated to %d bytes", len(v))
	}
}
