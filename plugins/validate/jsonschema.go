package validate

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// JSONSchema checks documents against a JSON Schema (draft 2020-12 unless
// the schema's $schema says otherwise), compiled by santhosh-tekuri/jsonschema.
type JSONSchema struct {
	schema *jsonschema.Schema
}

var printer = message.NewPrinter(language.English)

// CompileJSONSchema compiles a schema document. Formats (date-time, ...)
// are asserted because a schema author writing `format` expects it to be
// checked. Remote $refs are not fetched: the pipeline must not depend on
// the network to validate.
func CompileJSONSchema(src []byte) (*JSONSchema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	c.UseLoader(noRemote{})
	const url = "mem://schema.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	s, err := c.Compile(url)
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return &JSONSchema{schema: s}, nil
}

type noRemote struct{}

func (noRemote) Load(url string) (any, error) {
	return nil, fmt.Errorf("loading %s: remote references are not allowed", url)
}

// Check returns the leaf errors of the validation tree, one per failing
// keyword, so all violations are reported rather than "validation failed".
func (j *JSONSchema) Check(doc any) Violations {
	err := j.schema.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return Violations{{rootPath, "schema", err.Error()}}
	}
	var vs Violations
	collect(ve, &vs)
	sort.SliceStable(vs, func(a, b int) bool { return vs[a].Path < vs[b].Path })
	return vs
}

func collect(e *jsonschema.ValidationError, vs *Violations) {
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			collect(c, vs)
		}
		return
	}
	path := instancePath(e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			*vs = append(*vs, Violation{joinPath(path, m), RuleRequired, "required"})
		}
		return
	case *kind.AdditionalProperties:
		for _, p := range k.Properties {
			*vs = append(*vs, Violation{joinPath(path, p), RuleUnknownField, "unknown field"})
		}
		return
	}
	rule := "schema"
	if kp := e.ErrorKind.KeywordPath(); len(kp) > 0 {
		rule = kp[0]
	}
	*vs = append(*vs, Violation{path, rule, e.ErrorKind.LocalizedString(printer)})
}

// instancePath turns a JSON pointer's tokens into our dotted path style.
func instancePath(tokens []string) string {
	path := rootPath
	for _, t := range tokens {
		if i, err := strconv.Atoi(t); err == nil && i >= 0 {
			path = indexPath(path, i)
			continue
		}
		path = joinPath(path, t)
	}
	return path
}
