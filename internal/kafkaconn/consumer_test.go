package kafkaconn

import (
	"strings"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func consumerSpec() *service.ConfigSpec {
	return service.NewConfigSpec().Fields(
		service.NewStringListField(FieldSeedBrokers),
		service.NewStringListField(FieldTopics),
		service.NewStringField(FieldConsumerGroup),
		service.NewStringField(FieldClientID).Default("pipeline"),
		service.NewStringField(FieldInstanceID).Default(""),
	).Fields(AuthFields()...)
}

func TestParseConsumerNamesTheField(t *testing.T) {
	for conf, want := range map[string]string{
		`{ seed_brokers: [ "" ], topics: [ a ], consumer_group: g }`: "field seed_brokers",
		`{ seed_brokers: [ x ], topics: [ ], consumer_group: g }`:    "field topics: at least one topic",
		`{ seed_brokers: [ x ], topics: [ a ], consumer_group: "" }`: "field consumer_group: must not be empty",
	} {
		pc, err := consumerSpec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConsumer(pc); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", conf, err, want)
		}
	}
	pc, err := consumerSpec().ParseYAML(`{ seed_brokers: [ "a:1,b:2" ], topics: [ t ], consumer_group: g, instance_id: pod-0 }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConsumer(pc)
	if err != nil || len(c.Brokers) != 2 || c.Group != "g" || c.InstanceID != "pod-0" || c.ClientID != "pipeline" {
		t.Fatalf("ParseConsumer = %+v, %v", c, err)
	}
	if n := len(c.GroupOpts()) - len(c.ConnOpts()); n != 3 {
		t.Fatalf("GroupOpts adds %d options to ConnOpts, want group, topics and instance id", n)
	}
}
