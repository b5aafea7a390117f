// Package window implements the `window` buffer: event-time tumbling, hopping
// and session windows with incremental aggregates, per-partition watermarks,
// late-event routing and ack bookkeeping that never acknowledges an input
// before every window it contributed to has been delivered.
//
// The window algebra lives in plain Go (engine.go, panes.go, session.go,
// aggregate.go, watermark.go, ack.go, emit.go) and is driven by an explicit
// clock so it can be tested deterministically; buffer.go adapts it to the
// Benthos BatchBuffer interface, and spec.go/config.go/extract.go turn YAML
// and messages into engine inputs.
package window
