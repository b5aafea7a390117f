// Package window implements the `window` buffer: event-time tumbling, hopping
// and session windows with incremental aggregates, per-partition watermarks,
// late-event routing and ack bookkeeping that never acknowledges an input
// before every window it contributed to has been delivered.
//
// The package is the Benthos adapter; the work is split along these seams:
//
//   - plugins/window/engine: the window algebra in plain Go (windows,
//     aggregates, watermarks, ack holds, results). It imports no Benthos
//     package (a test enforces it), takes the wall clock as an argument
//     (unix ns) and lengths of time as time.Duration.
//   - plugins/window/wal: the write-ahead log (the `wal` option), which
//     knows messages only as bodies, metadata and error texts.
//   - plugins/window/source and plugins/window/partition: the window_kafka
//     input and the per-partition contract between it and this buffer;
//     plugins/window/repartition: the window_repartition input. Importing
//     this package registers both inputs (register_*.go).
//
// Here, files are named after the registered component: buffer_window.go
// registers the buffer and implements service.BatchBuffer with one clock
// (windowBuffer.clock) for every engine call; buffer_window_spec.go is its
// config spec and documentation, buffer_window_config.go turns a parsed
// config into engine.Config; buffer_window_partitioned.go,
// buffer_window_ladder.go and buffer_window_passed.go keep the state of
// window_kafka partitions, and buffer_window_wal.go connects the log.
// extract.go (with jsonpath.go, fasttime.go and mapping.go) turns messages
// into engine events, and latelog.go rate-limits the late-event log lines.
package window
