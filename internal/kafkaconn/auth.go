// Package kafkaconn holds the Kafka connection settings shared by our franz-go
// inputs (window_kafka, retry_topics): TLS and SASL fields named as on
// Connect's redpanda input, so one cluster's settings copy between them.
package kafkaconn

import (
	"fmt"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const (
	inFieldTLS          = "tls"
	inFieldSASL         = "sasl"
	inFieldSASLMech     = "mechanism"
	inFieldSASLUser     = "username"
	inFieldSASLPassword = "password"
)

// AuthFields are the connection security fields, named as on the redpanda
// input so one cluster's settings can be copied between the two inputs.
func AuthFields() []*service.ConfigField {
	return []*service.ConfigField{
		service.NewTLSToggledField(inFieldTLS),
		service.NewObjectListField(inFieldSASL,
			service.NewStringEnumField(inFieldSASLMech, "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512").
				Description("SASL mechanism."),
			service.NewStringField(inFieldSASLUser).Description("User name.").Default(""),
			service.NewStringField(inFieldSASLPassword).Description("Password.").Default("").Secret(),
		).Description("SASL mechanisms to authenticate with, tried in order (as on the `redpanda` input; OAUTHBEARER and AWS_MSK_IAM are not offered here).").
			Optional().Advanced(),
	}
}

// AuthOpts turns the tls and sasl fields into client options.
func AuthOpts(conf *service.ParsedConfig) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	tlsConf, enabled, err := conf.FieldTLSToggled(inFieldTLS)
	if err != nil {
		return nil, err
	}
	if enabled {
		opts = append(opts, kgo.DialTLSConfig(tlsConf.Clone()))
	}
	if !conf.Contains(inFieldSASL) {
		return opts, nil
	}
	list, err := conf.FieldObjectList(inFieldSASL)
	if err != nil {
		return nil, err
	}
	var mechs []sasl.Mechanism
	for i, c := range list {
		m, err := saslMechanism(c)
		if err != nil {
			return nil, fmt.Errorf("field %s[%d]: %w", inFieldSASL, i, err)
		}
		mechs = append(mechs, m)
	}
	return append(opts, kgo.SASL(mechs...)), nil
}

func saslMechanism(c *service.ParsedConfig) (sasl.Mechanism, error) {
	mech, err := c.FieldString(inFieldSASLMech)
	if err != nil {
		return nil, err
	}
	user, err := c.FieldString(inFieldSASLUser)
	if err != nil {
		return nil, err
	}
	pass, err := c.FieldString(inFieldSASLPassword)
	if err != nil {
		return nil, err
	}
	switch mech {
	case "PLAIN":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "SCRAM-SHA-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	case "SCRAM-SHA-512":
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
	}
	return nil, fmt.Errorf("mechanism %q is not supported", mech)
}
