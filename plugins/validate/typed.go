package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/streamkit/pipeline/internal/eventtime"
)

// Check validates a decoded document against the typed spec and returns
// every violation. With normalize it rewrites timestamps to RFC 3339 UTC;
// `unknown_fields: strip` always removes unknown keys. changed tells whether
// the document was modified and has to be re-encoded.
func (s *Spec) Check(doc any, now time.Time, normalize bool) (out any, changed bool, vs Violations) {
	c := &typedCheck{now: now, normalize: normalize}
	out = c.field(s.Root, rootPath, doc)
	return out, c.changed, c.vs
}

type typedCheck struct {
	now       time.Time
	normalize bool
	changed   bool
	vs        Violations
}

func (c *typedCheck) add(path, rule, format string, args ...any) {
	c.vs = append(c.vs, Violation{path, rule, fmt.Sprintf(format, args...)})
}

// field checks one value and returns it, possibly replaced (normalised).
func (c *typedCheck) field(f *Field, path string, v any) any {
	if v == nil {
		if !f.Nullable && f.Type != TypeAny {
			c.add(path, RuleNull, "must not be null")
		}
		return v
	}
	switch f.Type {
	case TypeAny:
	case TypeString:
		s, ok := v.(string)
		if !ok {
			c.typeErr(path, "string", v)
			return v
		}
		c.str(f, path, s)
	case TypeEnum:
		s, ok := v.(string)
		if !ok {
			c.typeErr(path, "string", v)
			return v
		}
		if !f.enum[s] {
			c.add(path, RuleEnum, "not one of %s (%q)", strings.Join(f.Values, ", "), clip(s))
		}
	case TypeInt:
		n, ok := v.(json.Number)
		if !ok {
			c.typeErr(path, "int", v)
			return v
		}
		x, err := n.Float64()
		if err != nil || x != math.Trunc(x) || math.IsInf(x, 0) {
			c.add(path, RuleType, "expected int, got %s", clip(n.String()))
			return v
		}
		c.bounds(f, path, x)
	case TypeFloat:
		n, ok := v.(json.Number)
		if !ok {
			c.typeErr(path, "float", v)
			return v
		}
		x, err := n.Float64()
		if err != nil {
			c.add(path, RuleType, "expected float, got %s", clip(n.String()))
			return v
		}
		c.bounds(f, path, x)
	case TypeBool:
		if _, ok := v.(bool); !ok {
			c.typeErr(path, "bool", v)
		}
	case TypeTimestamp:
		return c.timestamp(f, path, v)
	case TypeObject:
		obj, ok := v.(map[string]any)
		if !ok {
			c.typeErr(path, "object", v)
			return v
		}
		c.object(f, path, obj)
	case TypeArray:
		arr, ok := v.([]any)
		if !ok {
			c.typeErr(path, "array", v)
			return v
		}
		c.length(f, path, len(arr), "items")
		for i, item := range arr {
			arr[i] = c.field(f.Items, indexPath(path, i), item)
		}
	}
	return v
}

func (c *typedCheck) object(f *Field, path string, obj map[string]any) {
	known := make(map[string]bool, len(f.Fields))
	for _, nf := range f.Fields {
		known[nf.Name] = true
		child := joinPath(path, nf.Name)
		v, present := obj[nf.Name]
		if !present {
			if nf.required() {
				c.add(child, RuleRequired, "required")
			}
			continue
		}
		if nv := c.field(nf.Field, child, v); !sameScalar(nv, v) {
			obj[nf.Name] = nv
		}
	}
	if f.UnknownFields == UnknownAllow {
		return
	}
	var unknown []string
	for k := range obj {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown) // map order is random; violations must be stable
	for _, k := range unknown {
		if f.UnknownFields == UnknownReject {
			c.add(joinPath(path, k), RuleUnknownField, "unknown field")
			continue
		}
		delete(obj, k)
		c.changed = true
	}
}

func (c *typedCheck) str(f *Field, path, s string) {
	c.length(f, path, utf8.RuneCountInString(s), "characters")
	if f.pattern != nil && !f.pattern.MatchString(s) {
		c.add(path, RulePattern, "does not match %s (%q)", f.Pattern, clip(s))
	}
}

func (c *typedCheck) length(f *Field, path string, n int, unit string) {
	if f.MinLength != nil && n < *f.MinLength {
		c.add(path, RuleMinLength, "%d %s, fewer than min_length %d", n, unit, *f.MinLength)
	}
	if f.MaxLength != nil && n > *f.MaxLength {
		c.add(path, RuleMaxLength, "%d %s, more than max_length %d", n, unit, *f.MaxLength)
	}
}

func (c *typedCheck) bounds(f *Field, path string, x float64) {
	if f.Min != nil && x < *f.Min {
		c.add(path, RuleMin, "%v is less than min %v", x, *f.Min)
	}
	if f.Max != nil && x > *f.Max {
		c.add(path, RuleMax, "%v is greater than max %v", x, *f.Max)
	}
}

func (c *typedCheck) timestamp(f *Field, path string, v any) any {
	switch v.(type) {
	case string, json.Number:
	default:
		c.typeErr(path, "timestamp", v)
		return v
	}
	t, err := eventtime.Parse(v)
	if err != nil {
		c.add(path, RuleTimestamp, "%s", err.Error())
		return v
	}
	if f.maxFuture > 0 && t.Sub(c.now) > f.maxFuture {
		c.add(path, RuleFuture, "%s is more than %s in the future", t.Format(time.RFC3339), f.MaxFuture)
	}
	if f.maxPast > 0 && c.now.Sub(t) > f.maxPast {
		c.add(path, RulePast, "%s is more than %s in the past", t.Format(time.RFC3339), f.MaxPast)
	}
	if !c.normalize {
		return v
	}
	norm := t.Format(time.RFC3339Nano)
	if s, ok := v.(string); !ok || s != norm {
		c.changed = true
	}
	return norm
}

func (c *typedCheck) typeErr(path, want string, got any) {
	c.add(path, RuleType, "expected %s, got %s", want, jsonKind(got))
}

// sameScalar reports whether a field kept its value; only normalised
// timestamps are replaced, so comparing comparable scalars is enough.
func sameScalar(a, b any) bool {
	switch a.(type) {
	case string, json.Number, bool, nil:
		return a == b
	}
	return true // containers are modified in place
}

func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("string (%q)", clip(x))
	case json.Number:
		return "number (" + clip(x.String()) + ")"
	case bool:
		return fmt.Sprintf("bool (%v)", x)
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

// clip keeps offending values short in error texts, which end up in logs
// and Kafka headers.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
