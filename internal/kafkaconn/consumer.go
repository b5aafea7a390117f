package kafkaconn

import (
	"errors"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The fields every consumer-group input of the project names alike.
const (
	FieldSeedBrokers   = "seed_brokers"
	FieldTopics        = "topics"
	FieldConsumerGroup = "consumer_group"
	FieldClientID      = "client_id"
	FieldInstanceID    = "instance_id"
)

// Consumer is what a consumer-group input needs to reach its cluster and
// join its group.
type Consumer struct {
	Brokers    []string
	Topics     []string
	Group      string
	ClientID   string
	InstanceID string // static membership when set
	Auth       []kgo.Opt
}

// ParseConsumer reads seed_brokers, topics, consumer_group, client_id,
// instance_id, tls and sasl; an error names the field.
func ParseConsumer(conf *service.ParsedConfig) (Consumer, error) {
	var c Consumer
	var err error
	if c.Brokers, err = SeedBrokers(conf, FieldSeedBrokers); err != nil {
		return c, err
	}
	if c.Topics, err = conf.FieldStringList(FieldTopics); err != nil {
		return c, err
	}
	if len(c.Topics) == 0 {
		return c, errors.New("field " + FieldTopics + ": at least one topic is required")
	}
	if c.Group, err = conf.FieldString(FieldConsumerGroup); err != nil {
		return c, err
	}
	if c.Group == "" {
		return c, errors.New("field " + FieldConsumerGroup + ": must not be empty: the group's committed offsets are where consuming resumes")
	}
	if c.ClientID, err = conf.FieldString(FieldClientID); err != nil {
		return c, err
	}
	if c.InstanceID, err = conf.FieldString(FieldInstanceID); err != nil {
		return c, err
	}
	c.Auth, err = AuthOpts(conf)
	return c, err
}

// ConnOpts are the options of a client of the cluster that joins no group.
func (c Consumer) ConnOpts() []kgo.Opt {
	return append([]kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(c.ClientID)}, c.Auth...)
}

// GroupOpts are ConnOpts plus the group, the topics and static membership.
func (c Consumer) GroupOpts() []kgo.Opt {
	opts := append(c.ConnOpts(), kgo.ConsumerGroup(c.Group), kgo.ConsumeTopics(c.Topics...))
	if c.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(c.InstanceID))
	}
	return opts
}
