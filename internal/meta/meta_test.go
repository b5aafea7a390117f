package meta

import (
	"strings"
	"testing"
)

// The classes are written to Kafka headers and filtered on by `pipeline dlq
// --class`: their spelling is part of the user-visible contract.
func TestClassesAreTheDocumentedSpellings(t *testing.T) {
	want := "validation,processing,late,unowned,retries_exhausted,fatal"
	if got := strings.Join(Classes, ","); got != want {
		t.Fatalf("Classes = %s, want %s", got, want)
	}
	for _, c := range Classes {
		if !IsClass(c) {
			t.Errorf("IsClass(%q) = false", c)
		}
	}
	if IsClass("Late") || IsClass("") {
		t.Error("IsClass accepts a spelling that is not a class")
	}
}

// Stashes are skipped by outputs with include_patterns ['^[^@]'] only if
// they start with @; every other key must not, or it would be lost.
func TestStashesStartWithTheStashPrefixAndHeadersDoNot(t *testing.T) {
	for _, k := range []string{StashKey, StashTimestampMs, StashTopic, StashRaw, StashWindowSourceBatch} {
		if !strings.HasPrefix(k, StashPrefix) {
			t.Errorf("stash %q does not start with %q", k, StashPrefix)
		}
	}
	for _, k := range []string{KafkaKey, KafkaTopic, ErrorClass, ErrorComponent, ValidationErrors, RetryAttempt, RetryOriginalOffset, WindowLate} {
		if strings.HasPrefix(k, StashPrefix) {
			t.Errorf("header key %q starts with the stash prefix", k)
		}
	}
	for _, k := range []string{RetryAttempt, RetryDueMs, RetryFirstFailureMs, RetryLastFailureMs, RetryOriginalTopic,
		RetryOriginalPartition, RetryOriginalOffset, RetryOriginalTimestampMs, RetryLastError, RetryOrderTicket, RetryReleasedMs} {
		if !strings.HasPrefix(k, RetryPrefix) {
			t.Errorf("retry key %q does not start with %q", k, RetryPrefix)
		}
	}
}
