package window

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/plugins/window/engine"
)

// options is the parsed buffer configuration: the engine config plus how to
// pull timestamps, keys and values out of messages.
type options struct {
	engine     engine.Config
	dropLate   bool
	maxOpen    int
	nackAtEnd  bool
	ts         tsSource
	windows    []windowSource
	needsNow   bool
	tickPeriod time.Duration

	walDir          string // "": no write-ahead log
	walSegmentBytes int64
}

type tsSource struct {
	mapping *mapping
	field   []string
}

type windowSource struct {
	check    *mapping
	keyInt   *service.InterpolatedString
	keyMap   *mapping
	keyPaths [][]string
	values   []valueSource
}

type valueSource struct {
	field   []string
	mapping *mapping
}

// defaultStartupGrace is startup_grace when unset and idle_timeout is off
// or longer.
const defaultStartupGrace = 5 * time.Second

func duration(conf *service.ParsedConfig, name, path string) (time.Duration, error) {
	s, err := conf.FieldString(name)
	if err != nil {
		return 0, err
	}
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("field %s: %w", path, err)
	}
	return d, nil
}

func parseOptions(conf *service.ParsedConfig) (*options, error) {
	o := &options{}
	var err error
	if o.engine.AllowedLateness, err = duration(conf, fAllowedLateness, fAllowedLateness); err != nil {
		return nil, err
	}
	if o.engine.MaxFutureSkew, err = duration(conf, fMaxFutureSkew, fMaxFutureSkew); err != nil {
		return nil, err
	}
	if o.engine.IdleTimeout, err = duration(conf, fIdleTimeout, fIdleTimeout); err != nil {
		return nil, err
	}
	if o.engine.StartupGrace, err = duration(conf, fStartupGrace, fStartupGrace); err != nil {
		return nil, err
	}
	if g, _ := conf.FieldString(fStartupGrace); g == "" {
		// A partition that has not delivered yet is treated like one idle
		// since the start: with idle_timeout it stops holding the watermark
		// after idle_timeout, as a silent partition would. The 5s cap keeps
		// a long idle_timeout (chosen for partitions that go quiet) from
		// delaying every window after every restart; Kafka fetches all
		// assigned partitions concurrently, so a backlog shows up in well
		// under a second.
		o.engine.StartupGrace = defaultStartupGrace
		if o.engine.IdleTimeout > 0 {
			o.engine.StartupGrace = min(o.engine.StartupGrace, o.engine.IdleTimeout)
		}
	}
	late, err := conf.FieldString(fLate)
	if err != nil {
		return nil, err
	}
	o.dropLate = late == "drop"
	if o.maxOpen, err = conf.FieldInt(fMaxOpen); err != nil {
		return nil, err
	}
	if o.maxOpen <= 0 {
		return nil, errors.New("field max_open_windows: must be greater than zero")
	}
	end, err := conf.FieldString(fEndOfInput)
	if err != nil {
		return nil, err
	}
	o.nackAtEnd = end == "nack"

	tsField, err := conf.FieldString(fTimestampField)
	if err != nil {
		return nil, err
	}
	if conf.Contains(fTimestamp) {
		if tsField != "" {
			return nil, errors.New("field timestamp: timestamp and timestamp_field are mutually exclusive")
		}
		if o.ts.mapping, err = parseMapping(conf, fTimestamp); err != nil {
			return nil, err
		}
	} else if tsField != "" {
		o.ts.field = splitPath(tsField)
	}

	if o.walDir, err = conf.FieldString(fWAL, fWALDir); err != nil {
		return nil, err
	}
	segBytes, err := conf.FieldInt(fWAL, fWALSegmentBytes)
	if err != nil {
		return nil, err
	}
	if segBytes <= 0 {
		return nil, errors.New("field wal.segment_bytes: must be greater than zero")
	}
	o.walSegmentBytes = int64(segBytes)

	wconfs, err := conf.FieldObjectList(fWindows)
	if err != nil {
		return nil, err
	}
	for i, wc := range wconfs {
		spec, src, err := parseWindow(wc, fmt.Sprintf("windows[%d]", i))
		if err != nil {
			return nil, err
		}
		o.engine.Windows = append(o.engine.Windows, spec)
		o.windows = append(o.windows, src)
	}
	if err := o.engine.Validate(); err != nil {
		return nil, errors.New("field " + err.Error())
	}

	// The ticker drives the end of the startup grace, idle detection,
	// update emissions and the lag gauge.
	o.tickPeriod = time.Second
	if o.engine.StartupGrace > 0 {
		o.tickPeriod = min(o.tickPeriod, max(o.engine.StartupGrace/4, 10*time.Millisecond))
	}
	if o.engine.IdleTimeout > 0 {
		o.tickPeriod = min(o.tickPeriod, max(o.engine.IdleTimeout/4, 10*time.Millisecond))
	}
	for _, w := range o.engine.Windows {
		if w.Emit == engine.EmitUpdates {
			o.tickPeriod = min(o.tickPeriod, max(w.EmitInterval/4, 10*time.Millisecond))
		}
	}
	return o, nil
}

func parseWindow(wc *service.ParsedConfig, at string) (engine.WindowSpec, windowSource, error) {
	var w engine.WindowSpec
	var src windowSource
	var err error
	if w.Name, err = wc.FieldString(fName); err != nil {
		return w, src, err
	}
	typ, err := wc.FieldString(fType)
	if err != nil {
		return w, src, err
	}
	switch typ {
	case "tumbling":
		w.Kind = engine.Tumbling
	case "hopping":
		w.Kind = engine.Hopping
	case "session":
		w.Kind = engine.Session
	default:
		return w, src, fmt.Errorf("field %s.type: unknown window type %q", at, typ)
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{fSize, &w.Size}, {fSlide, &w.Slide}, {fOffset, &w.Offset}, {fGap, &w.Gap}, {fMaxLength, &w.MaxLength}, {fEmitInterval, &w.EmitInterval}} {
		if *d.dst, err = duration(wc, d.name, at+"."+d.name); err != nil {
			return w, src, err
		}
	}
	if w.KeyName, err = wc.FieldString(fKeyName); err != nil {
		return w, src, err
	}
	if w.NameField, err = wc.FieldString(fNameField); err != nil {
		return w, src, err
	}
	if err = parseResultBounds(wc, at, &w); err != nil {
		return w, src, err
	}
	emit, err := wc.FieldString(fEmit)
	if err != nil {
		return w, src, err
	}
	if emit == "updates" {
		w.Emit = engine.EmitUpdates
	}

	keyField, err := wc.FieldString(fKeyField)
	if err != nil {
		return w, src, err
	}
	nKeys := 0
	if wc.Contains(fKey) {
		nKeys++
		if src.keyInt, err = wc.FieldInterpolatedString(fKey); err != nil {
			return w, src, err
		}
	}
	if wc.Contains(fKeyMapping) {
		nKeys++
		if src.keyMap, err = parseMapping(wc, fKeyMapping); err != nil {
			return w, src, err
		}
	}
	if keyField != "" {
		nKeys++
		for p := range strings.SplitSeq(keyField, ",") {
			src.keyPaths = append(src.keyPaths, splitPath(strings.TrimSpace(p)))
		}
	}
	if nKeys > 1 {
		return w, src, fmt.Errorf("field %s.key: key, key_mapping and key_field are mutually exclusive", at)
	}
	if wc.Contains(fCheck) {
		if src.check, err = parseMapping(wc, fCheck); err != nil {
			return w, src, err
		}
	}

	aconfs, err := wc.FieldObjectList(fAggregates)
	if err != nil {
		return w, src, err
	}
	for j, ac := range aconfs {
		aat := fmt.Sprintf("%s.aggregates[%d]", at, j)
		var a engine.AggSpec
		var vs valueSource
		if a.Name, err = ac.FieldString(fName); err != nil {
			return w, src, err
		}
		kind, err := ac.FieldString(fType)
		if err != nil {
			return w, src, err
		}
		var ok bool
		if a.Kind, ok = engine.ParseAggKind(kind); !ok {
			return w, src, fmt.Errorf("field %s.type: unknown aggregate type %q", aat, kind)
		}
		field, err := ac.FieldString(fAggField)
		if err != nil {
			return w, src, err
		}
		if ac.Contains(fAggMapping) {
			if field != "" {
				return w, src, fmt.Errorf("field %s.mapping: field and mapping are mutually exclusive", aat)
			}
			if vs.mapping, err = parseMapping(ac, fAggMapping); err != nil {
				return w, src, err
			}
		} else if field != "" {
			vs.field = splitPath(field)
		}
		a.HasInput = vs.mapping != nil || vs.field != nil
		if a.Limit, err = ac.FieldInt(fAggLimit); err != nil {
			return w, src, err
		}
		if a.Limit < 0 {
			return w, src, fmt.Errorf("field %s.limit: must not be negative", aat)
		}
		if a.Limit == 0 {
			switch a.Kind {
			case engine.AggCountDistinct:
				a.Limit = engine.DefaultDistinctLimit
			case engine.AggCollect:
				a.Limit = engine.DefaultCollectLimit
			case engine.AggCountBy:
				a.Limit = engine.DefaultCountByLimit
			}
		}
		w.Aggs = append(w.Aggs, a)
		src.values = append(src.values, vs)
	}
	if err := checkResultNames(&w, at); err != nil {
		return w, src, err
	}
	return w, src, nil
}

// resultField is one field of a window's result object and the config field
// that names it.
type resultField struct {
	name string
	at   string // config field, relative to the window; "" for fixed names
	self string // how the error refers to this name
	what string // how the error refers to this field when another collides
}

// resultFields lists the fields renderBody writes, in the order lint checks
// them (the lint rule in buffer_window_spec.go mirrors this). A `<name>_truncated` flag is
// only written when a bounded aggregate overflows, but it must not collide
// either: the result would then hold one name twice.
func resultFields(w *engine.WindowSpec) []resultField {
	fs := []resultField{
		{name: w.StartField, at: fStartField, self: fmt.Sprintf("%q", w.StartField), what: fStartField},
		{name: w.EndField, at: fEndField, self: fmt.Sprintf("%q", w.EndField), what: fEndField},
		{name: w.KeyName, at: fKeyName, self: fmt.Sprintf("%q", w.KeyName), what: "the key field (key_name)"},
	}
	if w.DurationField != "" {
		fs = append(fs, resultField{name: w.DurationField, at: fDuration, self: fmt.Sprintf("%q", w.DurationField), what: fDuration})
	}
	if w.NameField != "" {
		fs = append(fs, resultField{name: w.NameField, at: fNameField, self: fmt.Sprintf("%q", w.NameField), what: "name_field"})
	}
	for j, a := range w.Aggs {
		at := fmt.Sprintf("%s[%d].%s", fAggregates, j, fName)
		fs = append(fs, resultField{name: a.Name, at: at, self: fmt.Sprintf("%q", a.Name), what: fmt.Sprintf("aggregate %d", j)})
		switch a.Kind {
		case engine.AggCountDistinct, engine.AggCollect, engine.AggCountBy:
			flag := a.Name + "_truncated"
			fs = append(fs, resultField{name: flag, at: at, self: fmt.Sprintf("its flag %q", flag),
				what: fmt.Sprintf("the truncation flag of aggregate %d", j)})
		}
	}
	return fs
}

// checkResultNames rejects a window whose result object would hold one
// name twice (JSON readers keep one of them, silently).
func checkResultNames(w *engine.WindowSpec, at string) error {
	fs := resultFields(w)
	for i, f := range fs {
		for _, p := range fs[:i] {
			if p.name == f.name {
				return fmt.Errorf("field %s.%s: %s is also %s; every field of the result needs its own name", at, f.at, f.self, p.what)
			}
		}
	}
	return nil
}

// parseResultBounds reads how the result names and reports its bounds.
func parseResultBounds(wc *service.ParsedConfig, at string, w *engine.WindowSpec) error {
	var err error
	for _, f := range []struct {
		name string
		dst  *string
	}{{fStartField, &w.StartField}, {fEndField, &w.EndField}, {fDuration, &w.DurationField}} {
		if *f.dst, err = wc.FieldString(f.name); err != nil {
			return err
		}
	}
	if w.StartField == "" || w.EndField == "" {
		name := fStartField
		if w.StartField != "" {
			name = fEndField
		}
		return fmt.Errorf("field %s.%s: must not be empty", at, name)
	}
	bounds, err := wc.FieldString(fBounds)
	if err != nil {
		return err
	}
	if bounds == "activity" {
		if w.Kind != engine.Session {
			return fmt.Errorf("field %s.%s: only session windows have activity bounds", at, fBounds)
		}
		w.ActivityBounds = true
	}
	return nil
}
