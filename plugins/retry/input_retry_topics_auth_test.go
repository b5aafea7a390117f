package retry

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkaconn"
	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// A cluster that requires SASL: retry_topics authenticates with the sasl
// field and releases the stage's records as usual.
func TestRetryTopicsAuthenticatesWithSASL(t *testing.T) {
	addr := kafkatest.ClusterWith(t, 1, []string{"stage-sasl"}, kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "admin", "s3cret"))
	kafkatest.ProduceWith(t, addr, []kgo.Opt{kgo.SASL(scram.Auth{User: "admin", Pass: "s3cret"}.AsSha256Mechanism())},
		&kgo.Record{Topic: "stage-sasl", Value: []byte("due"), Headers: dueHeader(time.Now())})

	out := newSink(t, "sasl-out")
	kafkatest.RunStream(t, fmt.Sprintf(`
input:
  retry_topics:
    seed_brokers: [ %s ]
    topics: [ stage-sasl ]
    consumer_group: g-sasl
    sasl:
      - mechanism: SCRAM-SHA-256
        username: admin
        password: s3cret
output:
  retry_test_sink: { name: sasl-out }
`, addr), "warn")
	out.waitFor(t, 15*time.Second, "the record behind SASL", func() bool { return len(out.got()) == 1 })
	if got := out.got()[0].body; got != "due" {
		t.Fatalf("released %q", got)
	}
}

func TestRetryTopicsRejectsUnknownSASLMechanism(t *testing.T) {
	spec := retryTopicsSpec()
	conf, err := spec.ParseYAML("seed_brokers: [ x ]\ntopics: [ t ]\nconsumer_group: g\nsasl: [ { mechanism: GSSAPI } ]\n", nil)
	if err == nil {
		_, err = kafkaconn.AuthOpts(conf)
	}
	if err == nil {
		t.Fatal("an unknown SASL mechanism was accepted")
	}
}
