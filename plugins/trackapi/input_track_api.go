// Package trackapi is the `track_api` input: the seeds' FastAPI `/track`
// endpoint (POST one clickstream event or an array of them) as a Benthos
// component that writes the events to Kafka itself and answers each request
// with the truth about its own records.
//
// Why an input that writes: Benthos answers an HTTP request from the outcome
// of its whole transaction, and the `redpanda` output reports one error for a
// whole batch. Batching many requests into one produce (the only way to reach
// Kafka speed) would then tell every request of a batch the same thing, even
// when only some of its records failed. Here all requests share one franz-go
// producer, so concurrent requests go out in one produce request, and each
// request waits for its own records' acknowledgements.
package trackapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/streamkit/pipeline/internal/kafkaconn"
	"github.com/streamkit/pipeline/plugins/validate"
)

const (
	fAddress         = "address"
	fPath            = "path"
	fBrokers         = "seed_brokers"
	fTopic           = "topic"
	fKeyField        = "key_field"
	fSchema          = "schema"
	fSchemaFile      = "schema_file"
	fBuiltinSchema   = "builtin_schema"
	fMaxBytes        = "max_bytes"
	fMaxEvents       = "max_events"
	fTimeout         = "timeout"
	fDeliveryTimeout = "delivery_timeout"
	fErrorFormat     = "error_format"
	fKeyTTL          = "idempotency_ttl"
	fKeyMax          = "idempotency_max_keys"
	fKeyHeader       = "idempotency_header"
)

// probeInterval is how often the broker is asked for the topic's metadata:
// readiness and recovery follow it within a second.
const probeInterval = 500 * time.Millisecond

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Network").
		Summary("POST /track: clickstream events over HTTP, written to Kafka, answered only with the truth about the write.").
		Description(`
Serves ` + "`POST <path>`" + ` with one JSON event or a JSON array of events, checks each against a typed
schema (the ` + "`validate`" + ` processor's format) and writes each event as one record (key: ` + "`key_field`" + `)
to ` + "`topic`" + `. The records of concurrent requests leave in the same produce request; each request
waits for its own records' acknowledgements (acks from all in-sync replicas, idempotent producer).

Answers, all JSON:

- ` + "`200 {\"message\", \"user_data\"}`" + `: every event of the request is in Kafka.
- ` + "`422 {\"detail\": [...]}`" + `: invalid input, every violation; nothing written. ` + "`error_format: fastapi`" + ` gives FastAPI's ` + "`[{\"loc\", \"msg\", \"type\"}]`" + ` items.
- ` + "`503`" + `: nothing was written (the broker is not ready, or it refused the records); a retry is safe.
- ` + "`504`" + `: the broker did not answer within ` + "`timeout`" + `; the events may be written. The answer carries an ` + "`Idempotency-Key`" + `: a retry with it writes only what is not written.
- ` + "`500`" + `: some events of an array were written (listed), the others certainly not; a retry with the key writes the others.
- ` + "`409`" + `: an ` + "`Idempotency-Key`" + ` reused with a different body. ` + "`413`" + `: body above ` + "`max_bytes`" + `. ` + "`404`" + `/` + "`405`" + `: other paths and methods.

A request with an ` + "`Idempotency-Key`" + ` header whose events were written is answered 200 again without
writing (header ` + "`Idempotent-Replayed: true`" + `). Keys live in this process for ` + "`idempotency_ttl`" + `.

` + "`GET /ready`" + ` on the same address, like the service's own ` + "`/ready`" + `, says whether the broker answers
with the topic; while it does not, requests get 503 at once. When it comes back (also empty, with new
topic ids) the producer is replaced and writes resume within a second.

The input passes no messages on: the write and its answer happen here. Use ` + "`output: { drop: {} }`" + `.`).
		Field(service.NewStringField(fAddress).Description("Where to listen.").Default("127.0.0.1:8000")).
		Field(service.NewStringField(fPath).Description("The endpoint's path.").Default("/track")).
		Field(service.NewStringListField(fBrokers).Description("Kafka brokers (host:port; entries may hold several, comma separated).")).
		Field(service.NewStringField(fTopic).Description("Topic the events are written to.").Default("clickstream")).
		Field(service.NewStringField(fKeyField).Description("String field of an event whose value is the Kafka key.").Default("user_id")).
		Field(service.NewStringField(fSchema).Description("Typed schema of one event, as the `validate` processor's `schema`.").Optional()).
		Field(service.NewStringField(fSchemaFile).Description("File holding the typed schema, instead of `schema`.").Optional()).
		Field(service.NewStringField(fBuiltinSchema).Description("A schema shipped in the binary, as the `validate` processor's `builtin_schema` (`clickstream`: the main job's event), instead of `schema`.").Optional().Example("clickstream")).
		Field(service.NewIntField(fMaxBytes).Description("Largest body accepted (413 above).").Default(1 << 20)).
		Field(service.NewIntField(fMaxEvents).Description("Most events in one array.").Default(1000)).
		Field(service.NewDurationField(fTimeout).Description("How long a request waits for the broker's answer before a 504.").Default("5s")).
		Field(service.NewDurationField(fDeliveryTimeout).Description("How long an unsent record waits for the broker before it fails (503, not written).").Default("2s")).
		Field(service.NewStringEnumField(fErrorFormat, formatPipeline, formatFastAPI).Description("Shape of 422 bodies: ours (`path`, `rule`, `message`) or FastAPI's (`loc`, `msg`, `type`) for clients written against the seed app.").Default(formatPipeline)).
		Field(service.NewDurationField(fKeyTTL).Description("How long an Idempotency-Key is remembered.").Default("10m")).
		Field(service.NewIntField(fKeyMax).Description("Most Idempotency-Keys remembered (the oldest are forgotten first).").Default(100000)).
		Field(service.NewBoolField(fKeyHeader).Description("Write the request's Idempotency-Key as Kafka header `idempotency_key`, so readers can drop a replay across API restarts.").Default(true)).
		LintRule(`let n = [this.schema, this.schema_file, this.builtin_schema].filter(v -> v != null).length()
root = if $n == 0 { ["one of schema, schema_file or builtin_schema is required"] } else if $n > 1 { ["schema, schema_file and builtin_schema are exclusive"] }`)
}

func init() {
	err := service.RegisterBatchInput("track_api", spec(), func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
		return newInput(conf, mgr)
	})
	if err != nil {
		panic(err)
	}
}

type input struct {
	addr    string
	handler *server
	log     *service.Logger

	startOnce sync.Once
	startErr  error
	http      *http.Server
	served    chan struct{}
}

func newInput(conf *service.ParsedConfig, mgr *service.Resources) (*input, error) {
	s := &server{}
	p := &parser{now: time.Now}
	var err error
	in := &input{handler: s, log: mgr.Logger()}
	if in.addr, err = conf.FieldString(fAddress); err != nil {
		return nil, err
	}
	if s.path, err = conf.FieldString(fPath); err != nil {
		return nil, err
	}
	if p.spec, err = schemaFrom(conf); err != nil {
		return nil, err
	}
	if p.keyField, err = conf.FieldString(fKeyField); err != nil {
		return nil, err
	}
	if p.maxEvents, err = positiveInt(conf, fMaxEvents); err != nil {
		return nil, err
	}
	maxBytes, err := positiveInt(conf, fMaxBytes)
	if err != nil {
		return nil, err
	}
	s.maxBytes = int64(maxBytes)
	if s.timeout, err = conf.FieldDuration(fTimeout); err != nil {
		return nil, err
	}
	if s.format, err = conf.FieldString(fErrorFormat); err != nil {
		return nil, err
	}
	if s.keyHeader, err = conf.FieldBool(fKeyHeader); err != nil {
		return nil, err
	}
	ttl, err := conf.FieldDuration(fKeyTTL)
	if err != nil {
		return nil, err
	}
	keyMax, err := positiveInt(conf, fKeyMax)
	if err != nil {
		return nil, err
	}
	s.keys = newKeyStore(ttl, keyMax, time.Now)
	delivery, err := conf.FieldDuration(fDeliveryTimeout)
	if err != nil {
		return nil, err
	}
	brokers, err := kafkaconn.SeedBrokers(conf, fBrokers)
	if err != nil {
		return nil, err
	}
	topic, err := conf.FieldString(fTopic)
	if err != nil {
		return nil, err
	}
	s.parser = p
	statuses := mgr.Metrics().NewCounter("track_api_responses", "status")
	s.count = func(status int) { statuses.Incr(1, strconv.Itoa(status)) }
	log := mgr.Logger()
	if s.writer, err = newWriter(brokers, topic, delivery, probeInterval, func(msg string, args ...any) {
		log.With(args...).Info(msg)
	}); err != nil {
		return nil, err
	}
	return in, nil
}

func schemaFrom(conf *service.ParsedConfig) (*validate.Spec, error) {
	var src []byte
	switch {
	case conf.Contains(fSchema):
		s, err := conf.FieldString(fSchema)
		if err != nil {
			return nil, err
		}
		src = []byte(s)
	case conf.Contains(fSchemaFile):
		p, err := conf.FieldString(fSchemaFile)
		if err != nil {
			return nil, err
		}
		if src, err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("%s: %w", fSchemaFile, err)
		}
	case conf.Contains(fBuiltinSchema):
		name, err := conf.FieldString(fBuiltinSchema)
		if err != nil {
			return nil, err
		}
		if src, err = validate.BuiltinSchema(name); err != nil {
			return nil, fmt.Errorf("%s: %w", fBuiltinSchema, err)
		}
	default:
		return nil, errors.New("track_api: one of schema, schema_file or builtin_schema is required")
	}
	spec, err := validate.ParseSpec(src)
	if err != nil {
		return nil, fmt.Errorf("track_api %s: %w", fSchema, err)
	}
	return spec, nil
}

func positiveInt(conf *service.ParsedConfig, field string) (int, error) {
	n, err := conf.FieldInt(field)
	if err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("track_api %s: %d, must be at least 1", field, n)
	}
	return n, nil
}

// Connect starts the HTTP server once, then waits until the broker is ready:
// Benthos shows the input (and /ready) as not connected until then, while
// the server already answers, with 503 for writes.
func (in *input) Connect(ctx context.Context) error {
	in.startOnce.Do(func() { in.startErr = in.listen() })
	if in.startErr != nil {
		return in.startErr
	}
	for !in.handler.writer.isReady() {
		changed := in.handler.writer.readyChanged()
		if in.handler.writer.isReady() {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
	return nil
}

func (in *input) listen() error {
	ln, err := net.Listen("tcp", in.addr)
	if err != nil {
		return fmt.Errorf("track_api cannot listen on %s: %w", in.addr, err)
	}
	in.http = &http.Server{Handler: in.handler, ReadHeaderTimeout: 10 * time.Second}
	in.served = make(chan struct{})
	go func() {
		defer close(in.served)
		if err := in.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			in.log.Errorf("track_api server on %s stopped: %v", in.addr, err)
		}
	}()
	in.log.Infof("Receiving /track requests at: http://%s%s", ln.Addr(), in.handler.path)
	return nil
}

// ReadBatch passes nothing on; it returns when the broker stops being ready,
// so Benthos marks the input (and /ready) as not connected.
func (in *input) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	for in.handler.writer.isReady() {
		changed := in.handler.writer.readyChanged()
		if !in.handler.writer.isReady() {
			break
		}
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-changed:
		}
	}
	return nil, nil, service.ErrNotConnected
}

func (in *input) Close(ctx context.Context) error {
	if in.http != nil {
		// Requests in flight get their answers before the producer goes.
		_ = in.http.Shutdown(ctx)
		<-in.served
	}
	return in.handler.writer.close(ctx)
}
