package window

import (
	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/meta"
)

// Field names, shared by the spec and the constructor.
const (
	fTimestamp       = "timestamp"
	fTimestampField  = "timestamp_field"
	fAllowedLateness = "allowed_lateness"
	fMaxFutureSkew   = "max_future_skew"
	fIdleTimeout     = "idle_timeout"
	fStartupGrace    = "startup_grace"
	fLate            = "late"
	fMaxOpen         = "max_open_windows"
	fEndOfInput      = "end_of_input"
	fWindows         = "windows"
	fWAL             = "wal"
	fWALDir          = "dir"
	fWALSegmentBytes = "segment_bytes"

	fName         = "name"
	fType         = "type"
	fSize         = "size"
	fSlide        = "slide"
	fOffset       = "offset"
	fGap          = "gap"
	fMaxLength    = "max_length"
	fKey          = "key"
	fKeyMapping   = "key_mapping"
	fKeyField     = "key_field"
	fKeyName      = "key_name"
	fNameField    = "name_field"
	fStartField   = "start_field"
	fEndField     = "end_field"
	fDuration     = "duration_field"
	fBounds       = "session_bounds"
	fCheck        = "check"
	fEmit         = "emit"
	fEmitInterval = "emit_interval"
	fAggregates   = "aggregates"

	fAggField   = "field"
	fAggMapping = "mapping"
	fAggLimit   = "limit"
)

// lintRule checks cross-field rules at lint time so `pipeline lint` names
// the offending field before the stream is built; the constructor repeats
// every check (see buffer_window_config.go) because lint can be disabled.
const lintRule = `
map dur {
  root = if this == null || this == "" { 0 } else { this.string().parse_duration().catch(-1) }
}
map win {
  let i = this.index
  let w = this.value
  let typ = $w.type.or("tumbling")
  let size = $w.size.or("").apply("dur")
  let slide = $w.slide.or("").apply("dur")
  root = [
    if $typ != "session" && $size <= 0 { "field windows[%d].size: must be a duration greater than zero for %s windows".format($i, $typ) } else { null },
    if $typ == "hopping" && $slide <= 0 { "field windows[%d].slide: must be a duration greater than zero for hopping windows".format($i) } else { null },
    if $typ == "hopping" && $slide > $size { "field windows[%d].slide: must not exceed size".format($i) } else { null },
    if $typ == "session" && $w.gap.or("").apply("dur") <= 0 { "field windows[%d].gap: must be a duration greater than zero for session windows".format($i) } else { null },
    if $typ != "session" && $w.session_bounds.or("window") != "window" { "field windows[%d].session_bounds: only session windows have activity bounds".format($i) } else { null },
    if $w.exists("start_field") && $w.start_field == "" { "field windows[%d].start_field: must not be empty".format($i) } else { null },
    if $w.exists("end_field") && $w.end_field == "" { "field windows[%d].end_field: must not be empty".format($i) } else { null },
    if [$w.exists("key"), $w.exists("key_mapping"), $w.key_field.or("") != ""].filter(b -> b).length() > 1 { "field windows[%d].key: key, key_mapping and key_field are mutually exclusive".format($i) } else { null },
  ].concat($w.aggregates.or([]).enumerated().map_each(a -> [
    if a.value.exists("mapping") && a.value.field.or("") != "" { "field windows[%d].aggregates[%d].mapping: field and mapping are mutually exclusive".format($i, a.index) } else { null },
    if a.value.type.or("count") != "count" && !a.value.exists("mapping") && a.value.field.or("") == "" { "field windows[%d].aggregates[%d]: %s needs a field or mapping".format($i, a.index, a.value.type.or("count")) } else { null },
  ]).flatten()).concat($w.apply("result_names").apply("collisions").map_each(c -> "field windows[%d].%s".format($i, c)))
}
# result_names lists the fields of a window's result object, each with the
# config field that names it; mirrors resultFields in config.go.
map result_names {
  let key = this.key_name.or("key")
  let nf = this.name_field.or("")
  let sf = this.start_field.or("window_start")
  let ef = this.end_field.or("window_end")
  let df = this.duration_field.or("")
  root = [
    {"name": $sf, "at": "start_field", "self": "%q".format($sf), "what": "start_field"},
    {"name": $ef, "at": "end_field", "self": "%q".format($ef), "what": "end_field"},
    {"name": $key, "at": "key_name", "self": "%q".format($key), "what": "the key field (key_name)"},
  ].concat(
    if $df != "" { [{"name": $df, "at": "duration_field", "self": "%q".format($df), "what": "duration_field"}] } else { [] }
  ).concat(
    if $nf != "" { [{"name": $nf, "at": "name_field", "self": "%q".format($nf), "what": "name_field"}] } else { [] }
  ).concat(this.aggregates.or([]).enumerated().map_each(a -> [
    {"name": a.value.name.or(""), "at": "aggregates[%d].name".format(a.index), "self": "%q".format(a.value.name.or("")), "what": "aggregate %d".format(a.index)},
  ].concat(if ["count_distinct", "collect", "count_by"].contains(a.value.type.or("count")) {
    [{"name": a.value.name.or("") + "_truncated", "at": "aggregates[%d].name".format(a.index), "self": "its flag %q".format(a.value.name.or("") + "_truncated"), "what": "the truncation flag of aggregate %d".format(a.index)}]
  } else { [] })).flatten())
}
# collisions names every result field that an earlier one already uses.
map collisions {
  let names = this
  root = $names.enumerated().map_each(e -> $names.slice(0, e.index).filter(p -> p.name == e.value.name).map_each(p -> "%s: %s is also %s; every field of the result needs its own name".format(e.value.at, e.value.self, p.what))).flatten()
}
root = [
  if this.exists("timestamp") && this.timestamp_field.or("") != "" { "fields timestamp and timestamp_field are mutually exclusive" } else { null },
  if this.allowed_lateness.or("").apply("dur") < 0 { "field allowed_lateness: invalid duration" } else { null },
  if this.idle_timeout.or("").apply("dur") < 0 { "field idle_timeout: invalid duration" } else { null },
  if this.max_future_skew.or("").apply("dur") < 0 { "field max_future_skew: invalid duration" } else { null },
  if this.startup_grace.or("").apply("dur") < 0 { "field startup_grace: invalid duration" } else { null },
  if this.windows.or([]).length() == 0 { "field windows: at least one window is required" } else { null },
  if this.wal.segment_bytes.or(1) <= 0 { "field wal.segment_bytes: must be greater than zero" } else { null },
].concat(this.windows.or([]).enumerated().map_each(e -> e.apply("win")).flatten()).filter(x -> x != null)
`

func aggregateFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(fName).Description("Name of the aggregate: the JSON field of the emitted message."),
		service.NewStringAnnotatedEnumField(fType, map[string]string{
			"count":          "Number of events (without field/mapping) or of events where the value is present and not null.",
			"sum":            "Sum of numeric values (non-numbers are ignored).",
			"min":            "Smallest numeric value, null if none.",
			"max":            "Largest numeric value, null if none.",
			"avg":            "Mean of numeric values, null if none.",
			"first":          "Value of the earliest event by event time (ties: arrival order).",
			"last":           "Value of the latest event by event time (ties: arrival order).",
			"count_distinct": "Exact number of distinct values, up to `limit` (default 10000); beyond it the count stops growing and `<name>_truncated: true` is added. Values are compared by what they are, not by how their JSON is spelled, the same through `field` and `mapping`: `\"caf\\u00e9\"` and `\"café\"` are one string, `1`, `1.0` and `1e0` one number (numbers compare as exact decimals, so large integer IDs stay apart), objects are equal whatever their member order; the string `\"1\"` and the number `1` are two values.",
			"collect":        "List of values ordered by event time, keeping the earliest `limit` (default 100); `<name>_truncated: true` when values were dropped.",
			"count_by":       "Object mapping each value (strings as-is, others as canonical JSON: `1.0` and `1e0` count under `1`) to its number of events, e.g. events by event_type. At most `limit` (default 1000) distinct values; the rest are counted under `__other__`.",
		}).Description("Aggregate function.").Default("count"),
		service.NewStringField(fAggField).
			Description("Fast path: dotted path of a JSON field read directly from the raw message bytes (no Bloblang, no structured copy). It reads what `mapping: root = this.<path>` would: the message must be one valid JSON object (else the event is an error, `error_class: validation`), and when an object has a name twice the last one counts. Mutually exclusive with `mapping`.").
			Default("").Example("amount").Example("page.url"),
		service.NewBloblangField(fAggMapping).
			Description("Bloblang mapping producing the value to aggregate. Mutually exclusive with `field`. The value is taken as the mapping holds it: a string stays a string even when it spells a number or `null` (`\"12\"` is not summed); null, a deleted root or no assignment mean no value. A mapping error turns the event into an error (`error_class: validation`).").
			Optional().Example("root = this.amount * 100"),
		service.NewIntField(fAggLimit).
			Description("Bound for `count_distinct`, `collect` and `count_by` (0 = the type's default).").
			Default(0).Advanced(),
	}
}

func windowFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewStringField(fName).Description("Name of the window definition, set as metadata `window_name` on every emission.").Example("user_10s"),
		service.NewStringAnnotatedEnumField(fType, map[string]string{
			"tumbling": "Fixed, non-overlapping windows of `size`, aligned to the UTC epoch plus `offset`.",
			"hopping":  "Windows of `size` starting every `slide` (overlapping when slide < size). Events are stored once in panes of gcd(size, slide), so per-event cost does not grow with size/slide.",
			"session":  "Per-key sessions that close after `gap` without events; an event that bridges two sessions merges them.",
		}).Description("Window type.").Default("tumbling"),
		service.NewStringField(fSize).Description("Window length (tumbling, hopping).").Default("").Example("10s").Example("1m"),
		service.NewStringField(fSlide).Description("Hopping windows: distance between window starts; must be > 0 and <= size.").Default("").Example("10s"),
		service.NewStringField(fOffset).Description("Tumbling/hopping: shifts window alignment from the UTC epoch, e.g. size `24h` with offset `-2h` gives days starting at 22:00 UTC.").Default("").Example("15m"),
		service.NewStringField(fGap).Description("Session windows: inactivity gap; an event at least `gap` after a session's last event starts a new session.").Default("").Example("30m"),
		service.NewStringField(fMaxLength).Description("Session windows: optional maximum length (first event to last event + gap). An event that would make a session longer starts a new session instead. Must be >= gap.").Default("").Example("4h"),
		service.NewInterpolatedStringField(fKey).
			Description("Key to group by, as an interpolated string; composite keys by concatenation. Omit all key fields for one global key (\"\"). An interpolation error makes the event an error (`error_class: validation`).").
			Optional().Example(`${! json("user_id") }`).Example(`${! json("tenant") }:${! json("user_id") }`),
		service.NewBloblangField(fKeyMapping).
			Description("Key as a Bloblang mapping (strings used as-is, also `\"null\"`; other values as canonical JSON, as with `key_field`). Null, a deleted root or no assignment make the event an error.").
			Optional().Example(`root = [this.tenant, this.user_id].join(":")`),
		service.NewStringField(fKeyField).
			Description("Fast path: dotted JSON path(s) of the key read from the raw bytes; several comma-separated paths form a composite key joined with `:`. Strings are used as-is, other values as canonical JSON (`1.0` is the key `1`), so a key reads the same through `key_mapping`. The message must be one valid JSON object, and when an object has a name twice the last one counts, as in a mapping. A missing or null key field makes the event an error.").
			Default("").Example("user_id").Example("tenant,user.id"),
		service.NewStringField(fKeyName).Description("Name of the key field in the emitted JSON.").Default("key"),
		service.NewStringField(fNameField).
			Description("When set, the emitted JSON also has this field holding the window's `name`, so several windows can share one topic and readers tell them apart without a mapping (which would parse and re-serialise every result).").
			Default("").Example("window"),
		service.NewStringField(fStartField).Description("Name of the result's start field.").Default(meta.WindowStart).Example("start"),
		service.NewStringField(fEndField).Description("Name of the result's end field.").Default(meta.WindowEnd).Example("end"),
		service.NewStringField(fDuration).
			Description("When set, the result also has this field: seconds from its start to its end, as a JSON number (fractions kept).").
			Default("").Example("duration"),
		service.NewStringEnumField(fBounds, "window", "activity").
			Description("Session windows: what the result's start and end fields report. `window`: the window, first event to last event + `gap` (when the session closes). `activity`: first event to last event, as a sessions report usually wants it. The `window_start`/`window_end` metadata and `window_id` always name the window.").
			Default("window"),
		service.NewBloblangField(fCheck).
			Description("Optional Bloblang query; events for which it is not `true` are not part of this window. Events that no window takes pass through the buffer unchanged.").
			Optional().Example(`this.type == "page_view"`),
		service.NewStringEnumField(fEmit, "final", "updates").
			Description("`final`: one emission when the window closes. `updates`: also emit the running aggregate of changed windows every `emit_interval` (metadata `window_emit: update`); the closing emission has `window_emit: final`.").
			Default("final"),
		service.NewStringField(fEmitInterval).Description("Wall-clock interval of `updates` emissions.").Default("10s"),
		service.NewObjectListField(fAggregates, aggregateFields()...).
			Description("Named aggregates, computed incrementally (O(1) state per window and key, bounded for count_distinct/collect/count_by).").
			Default([]any{}),
	}
}

func bufferSpec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Beta().
		Categories("Windowing").
		Summary("Event-time tumbling, hopping and session windows with incremental aggregates, per-partition watermarks, late-event routing and no-loss acknowledgements.").
		Description(description).
		Fields(
			service.NewBloblangField(fTimestamp).
				Description("Bloblang mapping producing the event time: RFC 3339 / ISO 8601 with or without zone (none = UTC) and fraction, `T`, `t` or a space between date and time, zone `Z`, `z`, `±hh:mm` or `±hhmm`, unix seconds or milliseconds, or a timestamp value. Default: the Kafka record timestamp (metadata `kafka_timestamp_ms`), or the wall clock if absent. An unparseable timestamp makes the event an error (`error_class: validation`) that passes through the buffer. Mutually exclusive with `timestamp_field`.").
				Optional().Example("root = this.timestamp").Example(`root = this.ts.ts_parse("2006-01-02 15:04:05")`),
			service.NewStringField(fTimestampField).
				Description("Fast path: dotted JSON path of the event time read from the raw bytes (same formats as `timestamp`, with the same result). The message must be one valid JSON object, and when an object has a name twice the last one counts, as in a mapping. Mutually exclusive with `timestamp`.").
				Default("").Example("timestamp"),
			service.NewStringField(fAllowedLateness).
				Description("A window [start, end) closes, and is emitted, when the stage watermark reaches end + allowed_lateness. An event counts in a window only while that window's end + allowed_lateness is after the watermark the event is judged against (the larger of the stage watermark and its own partition's newest event time, itself included), and is late for a window definition when no window of it that would hold the event qualifies; for sessions that window is the session the event would end up in. So an event is not late merely for being more than this behind its partition: it is late when its window's end + allowed_lateness <= that watermark. See Watermarks and closing.").
				Default("0s").Example("5s"),
			service.NewStringField(fMaxFutureSkew).
				Description("Events stamped more than this ahead of the wall clock are errors (`error_class: validation`), so one bad producer clock cannot push the watermark forward and close every window early. `0s` disables the check.").
				Default("10m"),
			service.NewStringField(fIdleTimeout).
				Description("Opt-in. When a partition (or the single stream) receives no events for this long by wall clock it is idle: it no longer holds the stage watermark back, and when every partition is idle the watermark follows the wall clock so the last windows close. Make it longer than any pause a partition can see while a backlog is consumed (a busy or restarting pipeline): a partition that waits longer than this is taken for idle, and its older events then arrive late (routed as late, never dropped). Empty: off; then, apart from `startup_grace`, the wall clock plays no part (see Watermarks and closing). Set it with bounded inputs (see Nothing is lost). For `window_kafka` partitions, idleness needs the input to report the partition caught up; see With the window_kafka input.").
				Default("").Example("1m"),
			service.NewStringField(fStartupGrace).
				Description("Wall-clock time after the first event during which the stage watermark is held, so every partition with a backlog registers before any window closes (partitions the buffer has not heard from yet could still deliver older events). Without it, after a start or restart with a backlog on several partitions the first partition to deliver alone would move the watermark and the others' older events would be late. Events are still judged against their own partition's watermark meanwhile, and a window or session that has closed for an event takes no part in it even while the grace keeps it in memory, so the grace delays closing, it does not change which events count (in which windows, for every window type). Empty (default): `5s`, or `idle_timeout` if that is shorter (a partition silent since the start is treated like an idle one). `0s` disables it. See Watermarks and closing. Not used for `window_kafka` partitions, whose watermarks are independent.").
				Default("").Example("0s").Example("30s"),
			service.NewStringEnumField(fLate, "error", "drop").
				Description("What happens to an event whose windows have all closed. `error` (default): it passes through with an error and metadata `window_late: true`, `error_class: late`, so a `switch` output can route it to a late/DLQ topic. `drop`: acked and dropped, counted in `window_dropped_late`.").
				Default("error"),
			service.NewIntField(fMaxOpen).
				Description("Maximum open (window, key) states over all windows (hopping panes and sessions count individually) plus emissions waiting to be read. At the limit WriteBatch blocks (back-pressure) instead of dropping; see the description for how the stage avoids deadlock. Independently of this limit, WriteBatch also waits while 16384 results are unread, so a fast input cannot run ahead of a slow output; results are read in batches of at most 1024.").
				Default(1000000),
			service.NewStringEnumField(fEndOfInput, "flush", "nack").
				Description("What to do with windows still open when Benthos signals end of input. `flush`: emit them. `nack`: nack their inputs so they are re-consumed on restart. Benthos inputs wait for every message to be acknowledged before signalling end of input, and this buffer acknowledges inputs only when their windows close, so a bounded input never gets here with windows open unless they are closed otherwise: set `idle_timeout` for bounded inputs (the last windows then close that long after the input stops).").
				Default("flush").Advanced(),
			service.NewObjectField(fWAL,
				service.NewStringField(fWALDir).
					Description("Directory of the write-ahead log (one per buffer; created if missing). Empty: no log, and every input stays unacknowledged until the windows it fed are written. With a log, a batch is appended and fsynced, then acknowledged at once; memory then holds window state only, not the input messages. See \"Write-ahead log\" below.").
					Default(""),
				service.NewIntField(fWALSegmentBytes).
					Description("Size at which the log starts a new segment file. A segment is deleted when every window its events fed has been written.").
					Default(64<<20).Advanced(),
			).Description("Write-ahead log: acknowledge inputs once logged instead of when their windows close."),
			service.NewObjectListField(fWindows, windowFields()...).
				Description("Window definitions; every event is offered to each one (subject to its `check`)."),
		).
		LintRule(lintRule).
		Example("Per-user activity", "10 second tumbling counts per user and 30 minute sessions per user, events by type and distinct pages, read from Redpanda, with the write-ahead log so that inputs are acknowledged once logged rather than when their windows are delivered.", exampleActivity).
		Example("Hopping averages with live updates", "A 1 minute average every 10 seconds per sensor, with running updates every 5 seconds and late readings dropped.", exampleHopping)
}

const description = `
Windows are computed in event time. Each event's timestamp comes from ` + "`timestamp`/`timestamp_field`" + ` (default: the Kafka record timestamp) and its key from ` + "`key`/`key_mapping`/`key_field`" + `.

== Watermarks and closing

Every input partition (metadata ` + "`kafka_topic`" + ` + ` + "`kafka_partition`" + `; one stream if absent) has a watermark: the highest event time it has delivered. The stage watermark is the minimum over partitions that are not idle and never goes backwards. A window ` + "`[start, end)`" + ` closes, and its aggregates are emitted, once the stage watermark reaches ` + "`end + allowed_lateness`" + `. Windows are aligned to the UTC epoch (plus ` + "`offset`" + `).

An event is judged against one watermark, the same for every window definition: the larger of the stage watermark and its own partition's watermark (which includes the event). A window has closed for the event when its ` + "`end + allowed_lateness`" + ` is at or before that watermark; the event counts in the windows holding it that have not, and is late for a window definition when every window it would be in has closed for it (as in Flink). Tumbling: the one window holding it. Hopping: each window holding it on its own, so an event still counts in the later ones when the earlier have closed for it, and is late only when all have. Sessions: the session it would end up in, i.e. the sessions of its key that are still open for it and overlap ` + "`[t, t + gap)`" + `, merged with it (so it is never late when it joins one), or ` + "`[t, t + gap)`" + ` alone when there is none; a session that has closed for the event is never joined, even while it is still in memory because the stage watermark lags (startup grace, a slower partition), and an event next to it starts a session of its own. So an event more than ` + "`allowed_lateness`" + ` behind its partition is not late for that reason alone: it is late when its window has closed. For a partition that is never idle the stage watermark (a minimum that includes it) never exceeds its own, so whether its events count depends only on the order of that partition, not on how partitions interleave or how fast they are consumed (for sessions, as long as each key's events come from one partition, as with Kafka's keyed partitioning: a session of a key fed by two partitions depends on the order in which their events meet).

The buffer learns about a partition only when it delivers. So that a start or restart with a backlog on several partitions does not let the first partition to deliver move the watermark alone (closing windows the others' older events belong to), the stage watermark is held for ` + "`startup_grace`" + ` of wall-clock time after the first event: nothing closes meanwhile, while events are still judged against their own partition's watermark. Kafka fetches all assigned partitions at once, so they all register well within the default. A partition first seen later, typically one assigned by a rebalance, holds the stage watermark back from its first event on (windows stay open until it catches up), but its events for windows this instance has already closed are late: the watermark cannot go backwards. Its replay starts at its committed offset, i.e. at the oldest event of a window that was open at the previous owner, so with instances that consume in step (stage watermarks within ` + "`allowed_lateness`" + ` of each other) nothing is late; a lagging partition handed to an instance that is ahead sends its older events to the late route (not lost: they can be replayed from there).

Without ` + "`idle_timeout`" + ` the wall clock plays no other part (besides ` + "`max_future_skew`" + `): with ` + "`startup_grace: 0s`" + ` the output is a pure function of the input sequence; with a grace it is a pure function of the input sequence and of the point in it where the grace ended, and if every partition delivered before that point, the results and the late events of every window type are the same wherever that point falls (only when results come out differs). With ` + "`idle_timeout`" + `, a partition quiet for that long stops holding the watermark back, and if all partitions are quiet the watermark follows the wall clock so the last windows close. Events further than ` + "`max_future_skew`" + ` ahead of the wall clock are rejected as errors.

== Late, errored and other messages

An event whose windows have all closed is late (for hopping windows an event still counts in its windows that are open; with several window definitions an event late for one still counts in the others, and the late copy is tagged ` + "`window_late_windows`" + `). By default it passes through the buffer as an errored message with metadata ` + "`window_late: true`, `window_late_by_ms`, `window_name`, `window_start`, `window_end` and `error_class: late`" + `; ` + "`late: drop`" + ` drops it (counted). Messages that arrive already errored, events with unparseable timestamps or keys (` + "`error_class: validation`" + `) and events no window takes pass through promptly, so a downstream ` + "`switch`" + ` can route them to a DLQ.

== Emissions

Each closed (window, key) becomes one JSON message: the key (field ` + "`key_name`" + `), ` + "`window_start`, `window_end`" + ` (RFC 3339, UTC; renamed by ` + "`start_field`/`end_field`" + `, a session's activity instead of its window with ` + "`session_bounds: activity`" + `, plus seconds between them with ` + "`duration_field`" + `) and the named aggregates. Metadata: ` + "`window_name`, `window_type`, `window_key`, `window_start`, `window_end`, `window_events`, `window_emit` (`final` or `update`) and `window_id`" + ` = ` + "`key|start|end`" + `, deterministic across replays: use it as the Kafka message key so a replayed window lands on the same key (see Delivery guarantees for how to keep the right record). When several windows share a topic, key by ` + "`${! meta(\"window_name\") }|${! meta(\"window_id\") }`" + `. All emissions of one closing window form one batch.

Order: the buffer hands out the final results of each window definition in ` + "`window_end`" + ` order (one batch per closing window, its keys sorted; closing sessions by end, start and key); different definitions interleave by when their windows close. Benthos then runs the pipeline's processors on several batches at once (` + "`pipeline.threads`" + `, by default one per CPU) and outputs may send several batches at once (` + "`max_in_flight`" + `), so results can reach the output in a different order. Where consumers need the buffer's order, set ` + "`pipeline.threads: 1`" + ` and ` + "`max_in_flight: 1`" + ` on the output (and a single-partition topic, or a partition key that keeps related windows together), or order by ` + "`window_end`" + ` downstream.

== With the window_kafka input

Batches from ` + "`window_kafka`" + ` (this package's input) are windowed per source partition: each partition has its own state and watermark (its newest event time), so its windows close by its own event time, a quiet or lagging partition holds back no other, and ` + "`startup_grace`" + ` does not apply. ` + "`wal`" + ` is not used for them. The pipeline's transaction of such a batch ends when the buffer has taken it in; the buffer reports the batch's outcome to the input itself, once every window its events fed is written and every window of the partition that closed before those too. The input commits the first offset whose batch is not done, with the partition's watermark at that offset and the highest watermark up to which every window is written in the commit's metadata. Whoever owns the partition next (a restart, a crash, a rebalance) replays from that offset with that watermark: the same windows close at the same events and the same events are late, windows up to the written watermark are recomputed but not emitted again, and every other window has all its events after the offset. So for every window id the results are exactly those of one uninterrupted run, and a window written twice is written byte for byte the same.

So that long windows (30 min sessions) do not keep a partition's commit at their first event, the buffer snapshots each partition's open windows and watermark every ` + "`state_interval`" + ` of the input, right after a batch, and the input writes the snapshot to its compacted ` + "`state_topic`" + `. Once the snapshot is durable, and every window that closed before it and every pass-through message below its offset is written, the input may commit up to that offset and names the snapshot in the commit; the next owner loads it before it replays from the committed offset. Retried events below its offset are added to it as they are counted, and it is written only once none is left on the retry ladder. The results are the same with or without snapshots; only the replay gets shorter.

A partition's state is set up when it is assigned (once its snapshot is read), not on its first record. A partition is idle only when the input reports it caught up with its high watermark (listed on assignment, then from every fetch) while waiting for records of a reachable cluster, and nothing arrived for ` + "`idle_timeout`" + ` (counted from the assignment for a partition that delivers nothing, so the open windows of a snapshot it resumed from close then): its watermark then follows the wall clock (for event times ahead of the wall clock, it moves on by the wall-clock time since the last batch). Each such move is carried by the input's commits and replayed before the same record by the partition's next owner, and the partition's next batch waits until a commit carries it. A revoked partition's state is dropped without emitting anything (its unread results are taken off the queue), and a stop never flushes: ` + "`end_of_input`" + ` does not apply to these partitions. Events from other inputs while ` + "`window_kafka`" + ` runs (retried events, whose ` + "`kafka_topic`/`kafka_partition`" + ` name the partition they first came from) join that partition's state when this instance owns it; otherwise they wait up to 30 s for that partition to be assigned here, then are passed on as errors of class ` + "`unowned`" + `.

An event of such a partition that fails after validation (an enrichment error: no ` + "`error_class`" + ` or ` + "`processing`" + `) still moves its partition's event time, and while the ` + "`retry_router`" + ` has it on the retry ladder the partition's windows close no further than the watermark it arrived at; its copy is judged against that watermark and counted once, and its input batch is acknowledged only once its fate (counted, or dead-lettered) is written. A dead letter is written only after the partition's commit names it, so a replay skips it. A copy whose partition stops waiting (60 s past its due time: it reached another instance) is judged like any event.

The window key must be the Kafka key (or a function of it): a key spread over several partitions would give one result per partition for the same window; re-key through a topic with the ` + "`window_repartition`" + ` input first.

== Nothing is lost

Without ` + "`wal`" + `, an input message is acknowledged only after every window it contributed to has been emitted and acknowledged by the output (reference-counted across hopping windows and window definitions); a failed emission nacks its inputs. When the buffer is closed (shutdown) the inputs of open windows are nacked so they are consumed again on restart.

Benthos inputs wait for all their messages to be acknowledged before they signal end of input or finish a graceful shutdown. Because inputs are held by open windows, a bounded input (file, generate with count, a finite replay) only completes once its windows close, and ` + "`end_of_input: flush`" + ` only applies to what is still open then: set ` + "`idle_timeout`" + ` for bounded inputs, so the last windows close that long after the input stops (without it, and without newer events, they never close and the stream never ends). A graceful shutdown of an unbounded input either waits for the same, or for the shutdown timeout after which the buffer is closed and the open windows' inputs are nacked. Consequently the input must allow many unacknowledged messages: with ` + "`redpanda`" + ` use ` + "`unordered_processing: { enabled: true, checkpoint_limit: N }`" + ` with N above the number of messages per partition that arrive within ` + "`size + allowed_lateness`" + ` (or the session length).

== Write-ahead log

With ` + "`wal.dir`" + ` set, each batch is appended to a log in that directory and fsynced, and the input is acknowledged right away; the batch's events then hold their log segment, not the input, until every window they fed is written, and a segment with nothing left to hold is deleted. Memory holds window state only (O(keys), not O(events)), inputs need no large ` + "`checkpoint_limit`" + `, and a bounded input ends right after its last batch is logged: Benthos then signals end of input and ` + "`end_of_input`" + ` applies to the open windows, without waiting for ` + "`idle_timeout`" + `. On start, the batches still held in the log are replayed into the windows before new input is taken. Since an acknowledged offset reaches the broker a little later (inputs commit periodically), a crash can make the input deliver again events the log already has: the log keeps the set of logged ` + "`kafka_offset`" + `s per ` + "`kafka_topic`" + `/` + "`kafka_partition`" + ` (as ranges, so inputs that hand over a partition's batches out of order are fine) and skips messages it already has (metric ` + "`window_redelivered_skipped`" + `), so keep those metadata keys as the input set them (a message without all three is never skipped). The directory belongs with the consumer group's committed offsets: delete both together, and give every buffer its own directory (a lock file enforces it). When the output nacks a result the buffer delivers it again after 100ms. Disk use is the raw events of the open windows (with 30 min sessions, 30 min of input).

== Delivery guarantees

With ` + "`window_kafka`" + `: exact, as described above. With any other input, at least once, per window. With ` + "`wal`" + `, a restart replays the logged batches whose windows were not all written; a window already written before the crash whose events are partly in such batches is emitted again with those events only, as described next for the input. Without it, a crash (or a nack) makes the input replay from its committed offset, which for ` + "`redpanda`" + ` is per partition the lowest unacknowledged message, i.e. the oldest event of a window that was still open. Windows that were open are then emitted in full, but events after that offset that belong to windows already emitted before the crash are replayed too, without the earlier events of the same windows, which were acknowledged and are not replayed. Such a window is emitted again with only part of its events: under the same ` + "`window_id`" + ` for tumbling and hopping windows (hopping windows overlapping the replay start are always affected, tumbling windows when an out-of-order event straddles the offset), and for sessions as an additional session of the same key that overlaps the original one (later start, usually the same end). A buffer cannot avoid this: it does not see acknowledged offsets, and holding the acknowledgements of emitted windows back until no open window interleaves with them could postpone every commit forever on a disordered stream. A compacted topic keeps the latest record per key, which may be such a partial re-emission. Consumers that need exact results keep, per ` + "`window_id`" + `, the record with the largest ` + "`window_events`" + ` (a count aggregate carries the same number in the body), and for sessions, among overlapping sessions of one key, the one with the most events. Duplicates are otherwise identical re-emissions of the same window.

== Back-pressure

At ` + "`max_open_windows`" + ` the buffer stops accepting input until windows close. The blocked event still advances its partition's watermark (which closes windows it completes), and with ` + "`idle_timeout`" + ` a stalled input lets the watermark follow the wall clock, so the stage cannot stall permanently. Without ` + "`idle_timeout`" + `, a limit below the working set (keys in concurrently open windows) or a ` + "`checkpoint_limit`" + ` below the messages held by open windows can stall the stream: size both above the working set, and prefer setting ` + "`idle_timeout`" + ` in production.

== Metrics

` + "`window_events_in`, `window_open` (gauge), `window_emitted` (label `window`), `window_late_events`, `window_dropped_late`, `window_watermark_lag_ms`" + ` (gauge: wall clock minus stage watermark); with ` + "`wal`: `window_wal_segments` (gauge), `window_wal_replayed`, `window_redelivered_skipped`" + `; with ` + "`window_kafka`" + ` snapshots: ` + "`window_snapshots_written`, `window_snapshots_restored`, `window_snapshots_abandoned`, `window_snapshot_bytes`" + ` (gauge: the last one's size).
`

const exampleActivity = `
input:
  redpanda:
    seed_brokers: [ localhost:9092 ]
    topics: [ events ]
    consumer_group: activity
    unordered_processing:
      enabled: true
      checkpoint_limit: 100000

buffer:
  window:
    timestamp_field: timestamp
    allowed_lateness: 5s
    idle_timeout: 1m
    # Events are acknowledged once logged here: memory holds window state,
    # not 30 minutes of input (keep it on a persistent volume).
    wal:
      dir: /var/lib/pipeline/activity-wal
    windows:
      - name: user_10s
        type: tumbling
        size: 10s
        key_field: user_id
        key_name: user_id
        aggregates:
          - { name: events, type: count }
          - { name: by_type, type: count_by, field: event_type }
      - name: user_session
        type: session
        gap: 30m
        max_length: 12h
        key_field: user_id
        key_name: user_id
        aggregates:
          - { name: events, type: count }
          - { name: pages, type: count_distinct, field: page }

output:
  switch:
    cases:
      - check: errored()
        output:
          redpanda:
            seed_brokers: [ localhost:9092 ]
            topic: events_dlq
      - output:
          redpanda:
            seed_brokers: [ localhost:9092 ]
            topic: '${! meta("window_name") }'
            key: '${! meta("window_id") }'
`

const exampleHopping = `
buffer:
  window:
    timestamp: root = this.reading_time
    late: drop
    windows:
      - name: sensor_avg
        type: hopping
        size: 1m
        slide: 10s
        key: '${! json("sensor") }'
        emit: updates
        emit_interval: 5s
        aggregates:
          - { name: avg_temp, type: avg, field: temperature }
          - { name: max_temp, type: max, field: temperature }
          - { name: readings, type: count }
`
