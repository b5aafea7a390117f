package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"time"
)

// DefaultMaxBytes rejects payloads above 1 MiB, Kafka's default
// max.message.bytes: anything larger could not be written back anyway.
const DefaultMaxBytes = 1 << 20

// Validator is the engine behind the `validate` processor, free of Benthos
// types so it can be tested and fuzzed directly.
type Validator struct {
	Typed     *Spec       // exactly one of Typed and Schema is set
	Schema    *JSONSchema // JSON Schema alternative
	MaxBytes  int         // 0 disables the size check
	Normalize bool        // rewrite timestamps to RFC 3339 UTC
	Now       func() time.Time
}

// Result of validating one payload. Out is nil when the payload passes
// unchanged; Violations is empty when the payload is valid.
type Result struct {
	Out        []byte
	Violations Violations
}

// Validate checks one payload.
func (v *Validator) Validate(raw []byte) Result {
	doc, vs := Decode(raw, v.MaxBytes)
	if doc == nil && len(vs) > 0 {
		return Result{Violations: vs}
	}
	if v.Schema != nil {
		vs = append(vs, v.Schema.Check(doc)...)
		return Result{Violations: vs}
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	out, changed, tvs := v.Typed.Check(doc, now().UTC(), v.Normalize)
	vs = append(vs, tvs...)
	if len(vs) > 0 || !changed {
		return Result{Violations: vs}
	}
	b, err := marshal(out)
	if err != nil {
		return Result{Violations: Violations{{rootPath, RuleJSON, "re-encoding: " + err.Error()}}}
	}
	return Result{Out: b}
}

// marshal encodes without HTML escaping so "<" in user agents or URLs stays
// as written by the producer.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// ErrNoSchema is returned when neither a typed spec nor a JSON Schema is set.
var ErrNoSchema = errors.New("validate: exactly one of schema, schema_file, builtin_schema, json_schema or json_schema_file is required")
