package meta

// Retry state: the retry_router writes it as headers of the stage record and
// the retry_topics input restores it as metadata; the dead_letter output and
// the window buffer read it. One vocabulary from the first failure to the
// DLQ record.
const (
	RetryAttempt             = "retry_attempt"
	RetryDueMs               = "retry_due_ms"
	RetryFirstFailureMs      = "retry_first_failure_ms"
	RetryLastFailureMs       = "retry_last_failure_ms"
	RetryOriginalTopic       = "retry_original_topic"
	RetryOriginalPartition   = "retry_original_partition"
	RetryOriginalOffset      = "retry_original_offset"
	RetryOriginalTimestampMs = "retry_original_timestamp_ms"
	RetryLastError           = "retry_last_error"
	// RetryOrderTicket is only written in `ordering: key` mode.
	RetryOrderTicket = "retry_order_ticket"
	// RetryReleasedMs is set by retry_topics when it hands a record downstream.
	RetryReleasedMs = "retry_released_ms"
)

// Routing metadata retry_router sets for its `retry` child (the stage topic
// and the record key); retry_topics drops them again.
const (
	RetryStageTopic = "retry_topic"
	RetryStageKey   = "retry_key"
)

// RetryPrefix starts every retry state key.
const RetryPrefix = "retry_"
