package kafkaconn

import (
	"reflect"
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestSeedBrokersSplitsEntriesAndNamesTheField(t *testing.T) {
	spec := service.NewConfigSpec().Field(service.NewStringListField("seed_brokers"))
	conf, err := spec.ParseYAML(`seed_brokers: [ "a:9092, b:9092", "c:9092", "" ]`, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SeedBrokers(conf, "seed_brokers")
	if want := []string{"a:9092", "b:9092", "c:9092"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("SeedBrokers = %v, %v; want %v", got, err, want)
	}
	conf, _ = spec.ParseYAML(`seed_brokers: [ " , " ]`, nil)
	if _, err := SeedBrokers(conf, "seed_brokers"); err == nil || !strings.Contains(err.Error(), "field seed_brokers") {
		t.Fatalf("empty list: error %v, want one naming field seed_brokers", err)
	}
}

// Benthos' lint does not report a missing list field: the rule does, also
// for a list of empty entries, and passes a list with an address.
func TestSeedBrokersLintRuleNamesTheField(t *testing.T) {
	env := service.NewEnvironment()
	spec := service.NewConfigSpec().
		Field(service.NewStringListField(FieldSeedBrokers)).
		Field(service.NewStringField("other").Default("")).
		LintRule(`root = [ if this.other == "bad" { "field other: bad" } else { null } ].filter(e -> e != null)` + SeedBrokersLintRule)
	if err := env.RegisterBatchInput("brokers_lint_test", spec,
		func(*service.ParsedConfig, *service.Resources) (service.BatchInput, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	for conf, want := range map[string][]string{
		`brokers_lint_test: {}`: {"field seed_brokers: at least one broker address is required"},
		`brokers_lint_test: { seed_brokers: [ " , " ], other: bad }`:     {"field other: bad", "field seed_brokers: at least one"},
		`brokers_lint_test: { seed_brokers: [ "a:9092,b:9092" ] }`:       nil,
		`brokers_lint_test: { seed_brokers: [ "a:9092" ], other: fine }`: nil,
	} {
		err := env.NewStreamBuilder().AddInputYAML(conf)
		if want == nil {
			if err != nil {
				t.Errorf("%s: %v, want no lint error", conf, err)
			}
			continue
		}
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want it to say %q", conf, err, w)
			}
		}
	}
}
