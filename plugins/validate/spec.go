package validate

import (
	"fmt"
	"reflect"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// Field types of the typed spec; they mirror the pydantic model of the seeds.
const (
	TypeString    = "string"
	TypeInt       = "int"
	TypeFloat     = "float"
	TypeBool      = "bool"
	TypeTimestamp = "timestamp"
	TypeEnum      = "enum"
	TypeObject    = "object"
	TypeArray     = "array"
	TypeAny       = "any"
)

// Unknown field policies of an object.
const (
	UnknownAllow  = "allow"
	UnknownReject = "reject"
	UnknownStrip  = "strip"
)

// Field is one field of the typed spec as written in YAML. Fields are
// required unless `required: false`, like pydantic fields without a default.
type Field struct {
	Type          string   `yaml:"type"`
	Required      *bool    `yaml:"required"`
	Nullable      bool     `yaml:"nullable"`
	Min           *float64 `yaml:"min"`
	Max           *float64 `yaml:"max"`
	MinLength     *int     `yaml:"min_length"`
	MaxLength     *int     `yaml:"max_length"`
	Pattern       string   `yaml:"pattern"`
	Values        []string `yaml:"values"`
	Fields        Fields   `yaml:"fields"`
	UnknownFields string   `yaml:"unknown_fields"`
	Items         *Field   `yaml:"items"`
	MaxFuture     string   `yaml:"max_future"`
	MaxPast       string   `yaml:"max_past"`
	Description   string   `yaml:"description"`

	pattern   *regexp.Regexp
	enum      map[string]bool
	maxFuture time.Duration
	maxPast   time.Duration
}

// NamedField keeps a field with its name; Fields keeps the YAML order so
// violations are reported in the order the schema declares the fields.
type NamedField struct {
	Name string
	*Field
}

// Fields is an ordered mapping of field name to field.
type Fields []NamedField

// UnmarshalYAML reads a mapping while preserving key order.
func (fs *Fields) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: fields must be a mapping of name to field", n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		if seen[name] {
			return fmt.Errorf("line %d: field %q declared twice", n.Content[i].Line, name)
		}
		seen[name] = true
		var f Field
		if err := checkKeys(n.Content[i+1]); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		if err := n.Content[i+1].Decode(&f); err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		*fs = append(*fs, NamedField{name, &f})
	}
	return nil
}

// Spec is a typed schema: the document root is an object.
type Spec struct {
	Root *Field
}

// ParseSpec parses and checks a typed spec. The top level holds `fields`
// and optionally `unknown_fields`; a mistake in the spec is reported here,
// at config time, never per message.
func ParseSpec(src []byte) (*Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("typed schema: %w", err)
	}
	if len(doc.Content) != 1 {
		return nil, fmt.Errorf("typed schema: empty document")
	}
	if err := checkKeys(doc.Content[0]); err != nil {
		return nil, fmt.Errorf("typed schema: %w", err)
	}
	var root Field
	if err := doc.Content[0].Decode(&root); err != nil {
		return nil, fmt.Errorf("typed schema: %w", err)
	}
	if root.Type == "" {
		root.Type = TypeObject
	}
	if root.Type != TypeObject {
		return nil, fmt.Errorf("typed schema: the top level must be an object, not %q", root.Type)
	}
	if err := root.compile(rootPath); err != nil {
		return nil, fmt.Errorf("typed schema: %w", err)
	}
	return &Spec{Root: &root}, nil
}

func (f *Field) compile(path string) error {
	switch f.Type {
	case TypeString, TypeInt, TypeFloat, TypeBool, TypeTimestamp, TypeAny:
	case TypeEnum:
		if len(f.Values) == 0 {
			return fmt.Errorf("%s: enum needs values", path)
		}
		f.enum = map[string]bool{}
		for _, v := range f.Values {
			f.enum[v] = true
		}
	case TypeObject:
		switch f.UnknownFields {
		case "":
			f.UnknownFields = UnknownAllow
		case UnknownAllow, UnknownReject, UnknownStrip:
		default:
			return fmt.Errorf("%s: unknown_fields must be allow, reject or strip, not %q", path, f.UnknownFields)
		}
		for _, nf := range f.Fields {
			if err := nf.compile(joinPath(path, nf.Name)); err != nil {
				return err
			}
		}
	case TypeArray:
		if f.Items == nil {
			return fmt.Errorf("%s: array needs items", path)
		}
		if err := f.Items.compile(path + "[]"); err != nil {
			return err
		}
	case "":
		return fmt.Errorf("%s: type is missing", path)
	default:
		return fmt.Errorf("%s: unknown type %q", path, f.Type)
	}
	if f.Min != nil && f.Max != nil && *f.Min > *f.Max {
		return fmt.Errorf("%s: min %v is greater than max %v", path, *f.Min, *f.Max)
	}
	if f.Pattern != "" {
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			return fmt.Errorf("%s: pattern: %w", path, err)
		}
		f.pattern = re
	}
	var err error
	if f.maxFuture, err = parseDur(f.MaxFuture); err != nil {
		return fmt.Errorf("%s: max_future: %w", path, err)
	}
	if f.maxPast, err = parseDur(f.MaxPast); err != nil {
		return fmt.Errorf("%s: max_past: %w", path, err)
	}
	if (f.maxFuture != 0 || f.maxPast != 0) && f.Type != TypeTimestamp {
		return fmt.Errorf("%s: max_future/max_past only apply to timestamps", path)
	}
	return nil
}

func parseDur(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("must not be negative")
	}
	return d, err
}

// fieldKeys are the keys a field may have. yaml.v3 ignores unknown keys when
// decoding a node, and a misspelt rule ("minlength") silently not being
// enforced is the worst failure a validator can have.
var fieldKeys = func() map[string]bool {
	keys := map[string]bool{}
	t := reflect.TypeOf(Field{})
	for i := 0; i < t.NumField(); i++ {
		if tag := t.Field(i).Tag.Get("yaml"); tag != "" {
			keys[tag] = true
		}
	}
	return keys
}()

func checkKeys(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: expected a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !fieldKeys[k] {
			return fmt.Errorf("line %d: unknown key %q", n.Content[i].Line, k)
		}
	}
	if items := mapValue(n, "items"); items != nil {
		return checkKeys(items)
	}
	return nil
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func (f *Field) required() bool { return f.Required == nil || *f.Required }
