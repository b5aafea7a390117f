package validate

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// builtin_schema: clickstream is the file plugins/validate/schemas/clickstream.yaml,
// as shipped in the binary.
func TestBuiltinSchemaIsTheSchemaFile(t *testing.T) {
	fromFile, err := os.ReadFile("schemas/clickstream.yaml")
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := BuiltinSchema("clickstream")
	if err != nil {
		t.Fatal(err)
	}
	if string(builtin) != string(fromFile) {
		t.Fatal("the built-in clickstream schema differs from schemas/clickstream.yaml")
	}
	pConf, err := spec().ParseYAML("builtin_schema: clickstream", nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validatorFromConfig(pConf)
	if err != nil {
		t.Fatal(err)
	}
	want, err := ParseSpec(fromFile)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Typed, want) {
		t.Error("builtin_schema: clickstream parsed to a different spec than the file")
	}
	res := v.Validate([]byte(`{"event_type":"hover","user_id":"u1","action":"view","timestamp":"2024-06-27T15:43:43"}`))
	if len(res.Violations) != 1 || res.Violations[0].Path != "event_type" {
		t.Errorf("violations %+v, want the enum violation of event_type", res.Violations)
	}
}

func TestBuiltinSchemaErrorsNameTheField(t *testing.T) {
	if _, err := BuiltinSchema("nope"); err == nil || !strings.Contains(err.Error(), "clickstream") {
		t.Errorf("err %v, want it to list the built-in schemas", err)
	}
	err := service.NewEnvironment().NewStreamBuilder().AddProcessorYAML("validate: { builtin_schema: nope }")
	if err == nil || !strings.Contains(err.Error(), "builtin_schema") {
		t.Errorf("lint err %v, want it to name builtin_schema", err)
	}
	err = service.NewEnvironment().NewStreamBuilder().AddProcessorYAML("validate: { builtin_schema: clickstream, schema_file: x.yaml }")
	if err == nil || !strings.Contains(err.Error(), "exactly one of") {
		t.Errorf("lint err %v, want exactly one of", err)
	}
}
