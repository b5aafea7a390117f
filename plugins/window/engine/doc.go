// Package engine is the window algebra of the `window` buffer in plain Go:
// event-time tumbling, hopping and session windows with incremental
// aggregates, per-partition watermarks, and ack bookkeeping that never
// acknowledges an input before every window it contributed to has been
// delivered. It imports no Benthos package (TestEngineImportsNoBenthos
// enforces it); the adapter in plugins/window turns configs and messages
// into Config and Events and results into messages.
//
// Time is passed in: every method that needs the wall clock takes now, and
// instants (event times, watermarks, now) are unix nanoseconds as int64,
// while lengths of time (window sizes, lateness, timeouts) are
// time.Duration. So tests drive the clock, and the results of a run are a
// function of its inputs and the times it was given.
//
// Files: engine.go is the Engine and its Config; the state it keeps lives
// in panes.go (tumbling and hopping windows), session.go (session windows),
// aggregate.go (the accumulators of one window and key, with
// smallcounts.go and canon.go for count_distinct and count_by) and
// watermark.go (per-partition and stage watermarks); ack.go is the
// reference-counted acknowledgement tree, emit.go the results and their
// JSON bodies.
package engine
