package validate

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// builtinSchemas are the typed specs shipped in the binary, so a config
// names its schema and runs from any directory (a relative schema_file is
// read from the working directory).
//
//go:embed schemas/*.yaml
var builtinSchemas embed.FS

// BuiltinSchemaNames lists the schemas of plugins/validate/schemas by name
// (the file name without .yaml).
func BuiltinSchemaNames() []string {
	entries, _ := fs.ReadDir(builtinSchemas, "schemas")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// builtinNamesJSON is BuiltinSchemaNames as a JSON array, for the lint
// rule.
func builtinNamesJSON() string {
	b, _ := json.Marshal(BuiltinSchemaNames())
	return string(b)
}

// BuiltinSchema returns the typed spec plugins/validate/schemas/<name>.yaml
// as shipped in the binary.
func BuiltinSchema(name string) ([]byte, error) {
	b, err := builtinSchemas.ReadFile(path.Join("schemas", name+".yaml"))
	if err != nil {
		return nil, fmt.Errorf("no built-in schema %q (have %s)", name, strings.Join(BuiltinSchemaNames(), ", "))
	}
	return b, nil
}
