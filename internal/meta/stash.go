package meta

// Stashes: in-process metadata that is never written as a header. They
// start with StashPrefix so that an output writing `include_patterns:
// ['^[^@]']` skips them; the child outputs of dead_letter, retry_router and
// dlq_replay default their topic, key and timestamp from them.
const (
	StashPrefix = "@"
	// StashKey is the record key the child output writes (dead_letter,
	// dlq_replay; retry_router's retry child).
	StashKey = "@key"
	// StashTimestampMs is the record timestamp the child output writes.
	StashTimestampMs = "@timestamp_ms"
	// StashTopic is the topic the child output writes to (dlq_replay: the
	// original topic; retry_router: the stage topic).
	StashTopic = "@topic"
	// StashRaw is the payload as it was read, stashed by dlq_keep_raw, so
	// the dead-letter and late routes write the original bytes.
	StashRaw = "@dlq_raw"
	// StashWindowSourceBatch marks a window_kafka batch for the window
	// buffer (plugins/window/partition).
	StashWindowSourceBatch = "@window_source_batch"
	// StashWindowLadder is set by the window buffer on an event of a
	// window_kafka partition that failed after validation: a value with
	// the methods LadderRetry(due time.Time) and LadderDead(), which the
	// retry_router calls with the route it chose, so the partition's
	// windows wait for the event while it is on the retry ladder.
	StashWindowLadder = "@window_ladder"
)

// Window result metadata the window buffer writes on each result (and on a
// late event: WindowLate).
const (
	WindowName  = "window_name"
	WindowID    = "window_id"
	WindowKey   = "window_key"
	WindowStart = "window_start"
	WindowEnd   = "window_end"
	WindowLate  = "window_late"
	// WindowLateByMs and WindowLateWindows describe a late event: how late
	// and which window definitions it missed.
	WindowLateByMs    = "window_late_by_ms"
	WindowLateWindows = "window_late_windows"
	// WindowPrefix starts every window metadata key.
	WindowPrefix = "window_"
)
