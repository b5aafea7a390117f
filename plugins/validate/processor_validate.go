package validate

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

const (
	fSchema         = "schema"
	fSchemaFile     = "schema_file"
	fBuiltinSchema  = "builtin_schema"
	fJSONSchema     = "json_schema"
	fJSONSchemaFile = "json_schema_file"
	fMaxBytes       = "max_bytes"
	fNormalize      = "normalize"
)

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Utility").
		Summary("Validates JSON messages against a typed field spec or a JSON Schema, reporting every violation.").
		Description(`
Exactly one of `+"`schema`, `schema_file`, `builtin_schema`, `json_schema` or `json_schema_file`"+` is set.

The typed spec is YAML: a top-level `+"`fields`"+` mapping (declaration order is the report order) and `+"`unknown_fields`"+` (`+"`allow` | `reject` | `strip`"+`). Each field has a `+"`type`"+` (`+"`string`, `int`, `float`, `bool`, `timestamp`, `enum` (with `values`), `object` (with `fields`, `unknown_fields`), `array` (with `items`), `any`"+`) and optionally `+"`required`"+` (default true), `+"`nullable`"+`, `+"`min`/`max`"+` (numbers), `+"`min_length`/`max_length`"+` (string characters or array items), `+"`pattern`"+` (RE2), and for timestamps `+"`max_future`/`max_past`"+` (durations, relative to the processing time). Timestamps are RFC 3339 / ISO 8601 strings with or without zone (no zone means UTC) or unix seconds/milliseconds.

JSON Schema is draft 2020-12 by default, compiled by santhosh-tekuri/jsonschema with format assertions on and remote references disabled.

Payloads that are empty, truncated, not JSON, not UTF-8, larger than `+"`max_bytes`"+` or with a key repeated in an object are violations too.

A valid message passes unchanged (re-encoded only when `+"`normalize`"+` rewrote a timestamp or `+"`unknown_fields: strip`"+` removed a key). An invalid message keeps its content and gets:

- an error listing every violation, e.g. `+"`user_id: required; timestamp: not a timestamp (\"yesterday\")`"+`;
- metadata `+"`validation_errors`"+`: a JSON array of `+"`{path, rule, message}`"+`;
- metadata `+"`error_class: validation`"+`;
- metadata `+"`error_component`"+`: this processor's label (or `+"`validate`"+`), because `+"`error_source_label()`"+` is null for plugin processors.

Default error handling: route with `+"`errored()`"+` (a `+"`switch`"+` output, or the `+"`route_errors`"+` output of plugins/dlq).
With `+"`error_handling.strict: true`"+` an errored message is rejected at the output, so wrap the processor in `+"`try_catch`"+`; the catch block sees the error in `+"`@error.what`"+` and the metadata above stays set:

`+"```yaml"+`
error_handling:
  strict: true
pipeline:
  processors:
    - try_catch:
        processors:
          - validate: { schema_file: ./plugins/validate/schemas/clickstream.yaml }
        catch:
          - log: { message: 'invalid: ${! @error.what }' }
output:
  switch:
    cases:
      - check: '@error_class == "validation"'
        output: { resource: dlq }
      - output: { resource: main }
`+"```"+`

Metrics: counter `+"`validate_validated`"+` (every checked message) and `+"`validate_invalid`"+` labelled `+"`rule`"+` (a message counts once per distinct rule it broke).`).
		Field(service.NewStringField(fSchema).Description("A typed spec as YAML text.").Optional().
			Example("fields:\n  user_id: { type: string, min_length: 1 }\n  timestamp: { type: timestamp, max_future: 1h }\n")).
		Field(service.NewStringField(fSchemaFile).Description("Path of a typed spec YAML file.").Optional().
			Example("./plugins/validate/schemas/clickstream.yaml")).
		Field(service.NewStringField(fBuiltinSchema).
			Description("A typed spec shipped in the binary, `plugins/validate/schemas/<name>.yaml`: one of `"+strings.Join(BuiltinSchemaNames(), "`, `")+"`. Unlike a relative `schema_file` it does not depend on the working directory.").
			Optional().Example("clickstream")).
		Field(service.NewStringField(fJSONSchema).Description("A JSON Schema document (JSON text).").Optional()).
		Field(service.NewStringField(fJSONSchemaFile).Description("Path of a JSON Schema file.").Optional()).
		Field(service.NewIntField(fMaxBytes).Description("Payloads larger than this are violations; 0 disables the check.").Default(DefaultMaxBytes)).
		Field(service.NewBoolField(fNormalize).Description("Rewrite valid timestamps to RFC 3339 UTC (typed spec only).").Default(false)).
		LintRule(`root = [
  if [this.schema, this.schema_file, this.builtin_schema, this.json_schema, this.json_schema_file].filter(v -> v != null).length() != 1 { "exactly one of schema, schema_file, builtin_schema, json_schema or json_schema_file must be set" },
  if this.builtin_schema != null && !`+builtinNamesJSON()+`.contains(this.builtin_schema) { "field builtin_schema: %q is not one of %s".format(this.builtin_schema, `+builtinNamesJSON()+`.join(", ")) },
].filter(e -> e != null)`).
		Example("Clickstream", "Validate clickstream events and dead-letter the invalid ones.", `
pipeline:
  processors:
    - validate:
        schema_file: ./plugins/validate/schemas/clickstream.yaml
        normalize: true
`)
}

func init() {
	err := service.RegisterBatchProcessor("validate", spec(),
		func(conf *service.ParsedConfig, res *service.Resources) (service.BatchProcessor, error) {
			v, err := validatorFromConfig(conf)
			if err != nil {
				return nil, err
			}
			v.Now = time.Now
			p := newProcessor(v, res.Metrics())
			if p.label = res.Label(); p.label == "" {
				p.label = "validate"
			}
			return p, nil
		})
	if err != nil {
		panic(err)
	}
}

func validatorFromConfig(conf *service.ParsedConfig) (*Validator, error) {
	set := 0
	for _, f := range []string{fSchema, fSchemaFile, fBuiltinSchema, fJSONSchema, fJSONSchemaFile} {
		if conf.Contains(f) {
			set++
		}
	}
	if set != 1 {
		return nil, ErrNoSchema
	}
	src := map[string][]byte{}
	for _, f := range []string{fSchema, fJSONSchema} {
		if conf.Contains(f) {
			s, err := conf.FieldString(f)
			if err != nil {
				return nil, err
			}
			src[f] = []byte(s)
		}
	}
	for f, inline := range map[string]string{fSchemaFile: fSchema, fJSONSchemaFile: fJSONSchema} {
		if conf.Contains(f) {
			p, err := conf.FieldString(f)
			if err != nil {
				return nil, err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			src[inline] = b
		}
	}
	if conf.Contains(fBuiltinSchema) {
		name, err := conf.FieldString(fBuiltinSchema)
		if err != nil {
			return nil, err
		}
		b, err := BuiltinSchema(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fBuiltinSchema, err)
		}
		src[fSchema] = b
	}
	if len(src) != 1 {
		return nil, ErrNoSchema
	}
	v := &Validator{}
	var err error
	if b, ok := src[fSchema]; ok {
		v.Typed, err = ParseSpec(b)
	} else {
		v.Schema, err = CompileJSONSchema(src[fJSONSchema])
	}
	if err != nil {
		return nil, err
	}
	if v.MaxBytes, err = conf.FieldInt(fMaxBytes); err != nil {
		return nil, err
	}
	if v.Normalize, err = conf.FieldBool(fNormalize); err != nil {
		return nil, err
	}
	return v, nil
}

type processor struct {
	label     string
	v         *Validator
	validated *service.MetricCounter
	invalid   *service.MetricCounter
}

func newProcessor(v *Validator, m *service.Metrics) *processor {
	return &processor{
		v:         v,
		validated: m.NewCounter("validate_validated"),
		invalid:   m.NewCounter("validate_invalid", "rule"),
	}
}

// ProcessBatch validates each message; a batch processor so SetError goes
// through Benthos' error hook, which records the failing component's label
// for error_source_label() and the DLQ envelope.
func (p *processor) ProcessBatch(_ context.Context, batch service.MessageBatch) ([]service.MessageBatch, error) {
	for _, msg := range batch {
		raw, err := msg.AsBytes()
		if err != nil {
			return nil, err
		}
		res := p.v.Validate(raw)
		p.validated.Incr(1)
		if len(res.Violations) == 0 {
			if res.Out != nil {
				msg.SetBytes(res.Out)
			}
			continue
		}
		seen := map[string]bool{}
		for _, vi := range res.Violations {
			if !seen[vi.Rule] {
				seen[vi.Rule] = true
				p.invalid.Incr(1, vi.Rule)
			}
		}
		msg.MetaSetMut(meta.ValidationErrors, res.Violations.JSON())
		msg.MetaSetMut(meta.ErrorClass, meta.ClassValidation)
		msg.MetaSetMut(meta.ErrorComponent, p.label)
		msg.SetError(res.Violations)
	}
	return []service.MessageBatch{batch}, nil
}

func (p *processor) Close(context.Context) error { return nil }
