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
