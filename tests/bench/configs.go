package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// httpSection: off, or on a loopback port with /debug/pprof when profiling.
func httpSection(addr string) string {
	if addr == "" {
		return "http: { enabled: false }\n"
	}
	return fmt.Sprintf("http: { address: %q, debug_endpoints: true }\n", addr)
}

const loggerSection = "logger: { level: WARN }\n"

// fileInput reads JSON lines with our batched_lines scanner, 500 lines a
// batch, so the buffer's WriteBatch (and its log's fsync) sees 500 messages
// per call and the input pays its per-batch costs once per 500 lines. On
// 200k events A took the same CPU within noise at 500, 1000 and 2000 lines
// a batch and peaked at 59-60, 62-66 and 67-70 MB: every batch in flight
// is memory. A, A-hold, A0 and E use it.
func fileInput(path string) string {
	return fmt.Sprintf(`input:
  file: { paths: [ %q ], scanner: { batched_lines: { count: 500 } } }
`, path)
}

// stockFileInput is the input as a Redpanda Connect user writes it: the
// lines scanner, a message per line, batched after the input. B uses it:
// with batched_lines B's input outruns its processing and system_window
// drops what falls two windows behind (it lost 60% of the events).
func stockFileInput(path string) string {
	return fmt.Sprintf(`input:
  broker:
    inputs:
      - file: { paths: [ %q ], scanner: { lines: {} } }
    batching: { count: 2000, period: 10ms }
`, path)
}

// fileOutput writes each batch with one write: the file output writes
// message by message (a syscall and a latency sample each), so its batches
// are joined into one newline-separated message first. Every file-output
// scenario (A, B, E) uses it.
func fileOutput(path string) string {
	return fmt.Sprintf(`output:
  file: { path: %q, codec: lines }
  processors:
    - archive: { format: lines }
`, path)
}

// windowBuffer: the window buffer with the fast-path fields; idle_timeout
// closes the last windows once the bounded input stops. walDir "" holds
// every input until its windows are written (no write-ahead log).
// startup_grace is off: it waits for the partitions of a Kafka backlog to
// register, and a file has one (with the default, nothing closes during
// the first second: a third of a run here).
func windowBuffer(windows, walDir string) string {
	wal := ""
	if walDir != "" {
		wal = fmt.Sprintf("    wal: { dir: %q }\n", walDir)
	}
	return `buffer:
  window:
    timestamp_field: timestamp
    allowed_lateness: 5s
    idle_timeout: 1s
    startup_grace: 0s
` + wal + `    windows:
` + windows
}

const tumbling10s = `      - name: user_10s
        type: tumbling
        size: 10s
        key_field: user_id
        key_name: user_id
        aggregates: [ { name: events, type: count } ]
`

const hopping1m = `      - name: user_1m_10s
        type: hopping
        size: 1m
        slide: 10s
        key_field: user_id
        key_name: user_id
        aggregates: [ { name: events, type: count } ]
`

const session30m = `      - name: user_session
        type: session
        gap: 30m
        key_field: user_id
        key_name: user_id
        aggregates: [ { name: events, type: count } ]
`

// cfgA: our window buffer, 10 s tumbling count per user, file → file.
func cfgA(in, out, walDir, httpAddr string) string {
	return httpSection(httpAddr) + loggerSection + fileInput(in) + windowBuffer(tumbling10s, walDir) + fileOutput(out)
}

// cfgA0: an input into drop, no buffer: the runtime's ceiling.
func cfgA0(in string, input func(string) string) string {
	return httpSection("") + loggerSection + input(in) + "output:\n  drop: {}\n"
}

// cfgE: A's setup with other windows.
func cfgE(in, out, walDir, windows string) string {
	return httpSection("") + loggerSection + fileInput(in) + windowBuffer(windows, walDir) + fileOutput(out)
}

// cfgB: the stock job. system_window flushes by the system clock and drops
// what is older than its current windows, so it windows by processing time
// (root = now(), 1 s), and the event-time 10 s windows are computed per
// flushed batch by group_by_value + mapping. An event-time window whose
// events span two flushes comes out as two partial counts; the check sums
// them (the window buffer must, and does, emit each key once).
func cfgB(in, out string) string {
	const ws = `(json("timestamp").ts_parse("2006-01-02T15:04:05.999999").ts_unix() / 10).floor() * 10`
	return httpSection("") + loggerSection + stockFileInput(in) + `buffer:
  system_window:
    timestamp_mapping: root = now()
    size: 1s
pipeline:
  processors:
    - group_by_value:
        value: '${! json("user_id") }|${! ` + ws + ` }'
    - mapping: |
        root = if batch_index() == 0 {
          {"user_id": this.user_id, "window_start_unix": ` + ws + `, "events": batch_size()}
        } else { deleted() }
` + fileOutput(out)
}

// cfgHuge: 10M events over 100k keys in one 10 s window, generated in
// process (no file), written to a file for the check.
func cfgHuge(n, keys int, out, walDir string) string {
	return httpSection("") + loggerSection + fmt.Sprintf(`input:
  generate:
    count: %d
    interval: ""
    batch_size: 2000
    mapping: |
      root = {"user_id": "user-" + (counter() %% %d).string(), "event_type": "click", "timestamp": "2024-06-27T15:00:05.000000"}
`, n, keys) + windowBuffer(tumbling10s, walDir) + fileOutput(out)
}

// cfgD derives the window stage of configs/clickstream.yaml: its
// window_kafka input (the job's input or a broker's first) with the same
// settings (retry_topics included), its window buffer section
// (idle_timeout via WINDOW_IDLE_TIMEOUT) and pipeline processors, and its
// user_stats redpanda output; without the validation and the enrichment
// HTTP step (input processors), the retry router and the DLQ. passThrough
// (D0) drops the buffer and processors.
func cfgD(root, broker, group string, passThrough bool, httpAddr string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(root, "configs", "clickstream.yaml"))
	if err != nil {
		return "", err
	}
	var c map[string]any
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return "", err
	}
	// The window_kafka input is the job's input, or the first of a broker's.
	in, _ := c["input"].(map[string]any)
	if inputs, ok := dig(c, "input", "broker", "inputs").([]any); ok && len(inputs) > 0 {
		in, _ = inputs[0].(map[string]any)
	}
	wk, ok := in["window_kafka"].(map[string]any)
	if !ok {
		return "", fmt.Errorf("configs/clickstream.yaml: neither input nor the first input of input.broker is window_kafka")
	}
	wk["seed_brokers"] = []any{broker}
	wk["consumer_group"] = group
	delete(wk, "instance_id")
	out, ok := dig(c, "output", "retry_router", "output").(map[string]any)
	if !ok {
		return "", fmt.Errorf("configs/clickstream.yaml: no output.retry_router.output")
	}
	orp := out["redpanda"].(map[string]any)
	orp["seed_brokers"] = []any{broker}
	// The redpanda output writes one batch at a time: large batches.
	orp["batching"] = map[string]any{"count": 10000, "period": "10ms"}
	d := map[string]any{
		"logger": map[string]any{"level": "WARN"},
		"input":  map[string]any{"label": in["label"], "window_kafka": wk},
		"output": out,
	}
	if httpAddr == "" {
		d["http"] = map[string]any{"enabled": false}
	} else {
		d["http"] = map[string]any{"address": httpAddr, "debug_endpoints": true}
	}
	if !passThrough {
		d["buffer"] = c["buffer"]
		d["pipeline"] = c["pipeline"]
	}
	b, err := yaml.Marshal(d)
	return string(b), err
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
