package window

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/eventtime"
	"github.com/streamkit/pipeline/plugins/window/engine"

	"github.com/streamkit/pipeline/internal/meta"
)

// extractor turns messages into engine events. It reuses its buffers between
// calls, so it is used by one goroutine at a time (WriteBatch is serialised).
type extractor struct {
	opts    *options
	needRaw bool

	// Every configured field path (timestamp_field, key_field, aggregate
	// field) is resolved by one scan of the message per event; the indices
	// below point into fields.res.
	fields fieldSet
	tsIdx  int
	keyIdx [][]int // per window, per key path
	valIdx [][]int // per window, per value; -1: not a field

	parts              map[string]int
	lastTopic, lastPrt string
	lastIdx            int
	hasLast            bool
}

func newExtractor(o *options) *extractor {
	x := &extractor{opts: o, parts: map[string]int{}, tsIdx: -1}
	x.needRaw = o.ts.field != nil
	if o.ts.field != nil {
		x.tsIdx = x.addField(o.ts.field)
	}
	x.keyIdx = make([][]int, len(o.windows))
	x.valIdx = make([][]int, len(o.windows))
	for i, w := range o.windows {
		if w.keyPaths != nil {
			x.needRaw = true
		}
		for _, p := range w.keyPaths {
			x.keyIdx[i] = append(x.keyIdx[i], x.addField(p))
		}
		x.valIdx[i] = make([]int, len(w.values))
		for j, v := range w.values {
			x.valIdx[i][j] = -1
			if v.field != nil {
				x.needRaw = true
				x.valIdx[i][j] = x.addField(v.field)
			}
		}
	}
	return x
}

// addField registers a path with the one-pass scanner; -1 for an empty
// path (never produced by splitPath), which is then looked up on its own.
func (x *extractor) addField(p []string) int {
	if len(p) == 0 {
		return -1
	}
	return x.fields.add(p)
}

// field returns the lookup result of a registered path.
func (x *extractor) field(raw []byte, idx int, p []string) fieldRes {
	if idx < 0 {
		v, found, err := lookup(raw, p)
		return fieldRes{raw: v, found: found, err: err}
	}
	return x.fields.res[idx]
}

// prepare sizes ev for the configured windows, reusing its slices.
func (x *extractor) prepare(ev *engine.Event) {
	n := len(x.opts.windows)
	if cap(ev.Inputs) < n {
		ev.Inputs = make([]engine.Input, n)
	}
	ev.Inputs = ev.Inputs[:n]
	for i, w := range x.opts.windows {
		in := &ev.Inputs[i]
		if cap(in.Values) < len(w.values) {
			in.Values = make([]engine.Value, len(w.values))
		}
		in.Values = in.Values[:len(w.values)]
		in.Skip, in.Key = false, in.Key[:0]
	}
}

// extract fills ev from msg. windowed=false means no window takes the event.
// Keys are written into ev's own reusable buffers and values may alias the
// message bytes, so ev is valid while msg is (the whole WriteBatch call).
func (x *extractor) extract(msg *service.Message, ev *engine.Event, now int64) (windowed bool, err error) {
	x.prepare(ev)
	var raw []byte
	if x.needRaw {
		if raw, err = msg.AsBytes(); err != nil {
			return false, err
		}
		x.fields.scan(raw)
	}
	if ev.Time, err = x.timestamp(msg, raw, now); err != nil {
		return false, err
	}
	ev.Partition = x.partition(msg)

	for i := range x.opts.windows {
		w := &x.opts.windows[i]
		in := &ev.Inputs[i]
		if w.check != nil {
			ok, err := queryBool(msg, w.check)
			if err != nil {
				return false, fmt.Errorf("window %s: check: %w", x.opts.engine.Windows[i].Name, err)
			}
			if !ok {
				in.Skip = true
				continue
			}
		}
		windowed = true
		if in.Key, err = x.key(msg, raw, i, w, in.Key); err != nil {
			return false, fmt.Errorf("window %s: key: %w", x.opts.engine.Windows[i].Name, err)
		}
		for j := range w.values {
			var res fieldRes
			if w.values[j].field != nil {
				res = x.field(raw, x.valIdx[i][j], w.values[j].field)
			}
			if err := value(msg, res, &w.values[j], &in.Values[j]); err != nil {
				return false, fmt.Errorf("window %s: aggregate %s: %w",
					x.opts.engine.Windows[i].Name, x.opts.engine.Windows[i].Aggs[j].Name, err)
			}
		}
	}
	return windowed, nil
}

func (x *extractor) timestamp(msg *service.Message, raw []byte, now int64) (int64, error) {
	switch {
	case x.opts.ts.mapping != nil:
		v, deleted, err := x.opts.ts.mapping.value(msg)
		if err != nil {
			return 0, fmt.Errorf("timestamp mapping: %w", err)
		}
		if deleted {
			return 0, errors.New("timestamp mapping deleted the value")
		}
		t, err := eventtime.Parse(v)
		if err != nil {
			return 0, fmt.Errorf("timestamp: %w", err)
		}
		return toNanos(t)
	case x.opts.ts.field != nil:
		r := x.field(raw, x.tsIdx, x.opts.ts.field)
		v, found, err := r.raw, r.found, r.err
		if err != nil {
			return 0, fmt.Errorf("timestamp_field: %w", err)
		}
		if !found {
			return 0, errors.New("timestamp_field: field is missing")
		}
		ns, err := rawTimestamp(v)
		if err != nil {
			return 0, fmt.Errorf("timestamp: %w", err)
		}
		return ns, nil
	default:
		if v, ok := msg.MetaGetMut(meta.KafkaTimestampMs); ok {
			if ms, ok := v.(int64); ok {
				return ms * int64(time.Millisecond), nil
			}
			s := metaString(v)
			ms, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("timestamp: metadata kafka_timestamp_ms %q is not a number", s)
			}
			return ms * int64(time.Millisecond), nil
		}
		return now, nil
	}
}

// rawTimestamp parses a JSON string or number from the raw bytes.
func rawTimestamp(v []byte) (int64, error) {
	if len(v) >= 2 && v[0] == '"' {
		inner := v[1 : len(v)-1]
		for _, c := range inner {
			if c == '\\' {
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					return 0, err
				}
				return parseTimestamp([]byte(s))
			}
		}
		return parseTimestamp(inner)
	}
	if len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')) {
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, fmt.Errorf("not a timestamp (%s)", v)
		}
		t, err := eventtime.FromEpoch(f)
		if err != nil {
			return 0, err
		}
		return toNanos(t)
	}
	return 0, fmt.Errorf("not a timestamp (%.64s)", v)
}

// partition maps kafka_topic/kafka_partition metadata to a dense index; a
// one-entry cache covers the usual batch-from-one-partition case without
// building a map key.
func (x *extractor) partition(msg *service.Message) int {
	pv, ok := msg.MetaGetMut(meta.KafkaPartition)
	if !ok {
		return 0
	}
	p := metaString(pv)
	t := ""
	if tv, ok := msg.MetaGetMut(meta.KafkaTopic); ok {
		t = metaString(tv)
	}
	if x.hasLast && p == x.lastPrt && t == x.lastTopic {
		return x.lastIdx
	}
	k := t + "\x00" + p
	idx, ok := x.parts[k]
	if !ok {
		// Index 0 is the metadata-less stream; Kafka partitions start at 1.
		idx = len(x.parts) + 1
		x.parts[k] = idx
	}
	x.lastTopic, x.lastPrt, x.lastIdx, x.hasLast = t, p, idx, true
	return idx
}

func (x *extractor) key(msg *service.Message, raw []byte, wi int, w *windowSource, buf []byte) ([]byte, error) {
	buf = buf[:0]
	switch {
	case w.keyInt != nil:
		s, err := w.keyInt.TryString(msg)
		if err != nil {
			return nil, err
		}
		return append(buf, s...), nil
	case w.keyMap != nil:
		s, _, err := w.keyMap.value(msg)
		if err != nil {
			return nil, err
		}
		var v engine.Value
		if err := structuredValue(s, &v); err != nil {
			return nil, err
		}
		if !v.Present {
			return nil, errors.New("key mapping produced no value")
		}
		return engine.AppendCanonText(buf, &v), nil
	case w.keyPaths != nil:
		for i, p := range w.keyPaths {
			r := x.field(raw, x.keyIdx[wi][i], p)
			v, found, err := r.raw, r.found, r.err
			if err != nil {
				return nil, err
			}
			var val engine.Value
			if err := rawValue(v, found, &val); err != nil {
				return nil, err
			}
			if !val.Present {
				return nil, fmt.Errorf("key field %q is missing or null", joinPath(p))
			}
			if i > 0 {
				buf = append(buf, ':')
			}
			buf = engine.AppendCanonText(buf, &val)
		}
		return buf, nil
	}
	return buf, nil
}

func joinPath(p []string) string {
	s := ""
	for i, seg := range p {
		if i > 0 {
			s += "."
		}
		s += seg
	}
	return s
}

// value fills dst from src; res is the lookup result when src is a field.
func value(msg *service.Message, res fieldRes, src *valueSource, dst *engine.Value) error {
	switch {
	case src.field != nil:
		if res.err != nil {
			return res.err
		}
		return rawValue(res.raw, res.found, dst)
	case src.mapping != nil:
		s, _, err := src.mapping.value(msg)
		if err != nil {
			return err
		}
		return structuredValue(s, dst) // deleted: nil, absent
	}
	*dst = engine.Value{}
	return nil
}

// structuredValue converts a Bloblang result to an aggregate input.
func structuredValue(s any, dst *engine.Value) error {
	*dst = engine.Value{}
	switch x := s.(type) {
	case nil:
		return nil
	case string:
		b, _ := json.Marshal(x)
		*dst = engine.Value{Present: true, Str: []byte(x), JSON: b}
		return nil
	case []byte: // content() and other byte results are strings to Bloblang
		b, _ := json.Marshal(string(x))
		*dst = engine.Value{Present: true, Str: x, JSON: b}
		return nil
	case int64, int, int32:
		// Exact: a large integer ID must not go through float64 text.
		b := strconv.AppendInt(nil, toInt(x), 10)
		*dst = engine.Value{Present: true, IsNum: true, Num: toFloat(x), Str: b, JSON: b}
		return nil
	case uint64, uint32:
		b := strconv.AppendUint(nil, toUint(x), 10)
		*dst = engine.Value{Present: true, IsNum: true, Num: toFloat(x), Str: b, JSON: b}
		return nil
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return err
		}
		*dst = engine.Value{Present: true, IsNum: true, Num: f, Str: []byte(x.String()), JSON: []byte(x.String())}
		return nil
	case float64, float32:
		f := toFloat(x)
		b := engine.AppendNumber(nil, f)
		*dst = engine.Value{Present: true, IsNum: true, Num: f, Str: b, JSON: b}
		return nil
	case time.Time:
		s := x.UTC().Format(time.RFC3339Nano)
		b, _ := json.Marshal(s)
		*dst = engine.Value{Present: true, Str: []byte(s), JSON: b}
		return nil
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	*dst = engine.Value{Present: true, Str: b, JSON: b}
	return nil
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case float32:
		return float64(x)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case uint64:
		return float64(x)
	case uint32:
		return float64(x)
	}
	return 0
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int64:
		return x
	}
	return 0
}

func toUint(v any) uint64 {
	switch x := v.(type) {
	case uint32:
		return uint64(x)
	case uint64:
		return x
	}
	return 0
}

func queryBool(msg *service.Message, m *mapping) (bool, error) {
	v, deleted, err := m.value(msg)
	if err != nil {
		return false, err
	}
	if deleted {
		return false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expected a boolean, got %T", v)
	}
	return b, nil
}

// metaString renders a metadata value as MetaGet would, without the JSON
// encoder MetaGet uses for every non-string value: Kafka inputs set several
// integers per message, and this runs for each one of them.
func metaString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	}
	return bloblang.ValueToString(v)
}
