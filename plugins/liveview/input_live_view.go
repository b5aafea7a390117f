// Package liveview is the `live_view` input: a page and a WebSocket that
// show window results (user_stats) live, to every open page at once.
//
// Why its own component: Benthos' http_server output hands each message to
// ONE connected socket, so two tabs split the stream, and a closed tab's
// handler lingers and keeps taking (and failing) results. Here every page
// gets every result (broadcast), a page that closes is dropped at once, a new
// page first gets the last few windows (backfill), and at start the topic is
// read from a little before now, so the page neither replays old runs nor
// starts empty. The input passes no messages on; use `output: { drop: {} }`.
package liveview

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	fAddress      = "address"
	fPageFile     = "page_file"
	fWSPath       = "ws_path"
	fBrokers      = "seed_brokers"
	fTopic        = "topic"
	fBackfillAge  = "backfill_age"
	fKeepWindows  = "backfill_windows"
	fKeepSessions = "backfill_sessions"
)

func spec() *service.ConfigSpec {
	return service.NewConfigSpec().
		Categories("Network").
		Summary("Serves a page and a WebSocket that show window results from a topic live, to every open page.").
		Description(`
Reads ` + "`topic`" + ` (no consumer group: nothing is committed) from the results written in the last
` + "`backfill_age`" + `, and sends every result, as a JSON array per fetch, to every page connected to
` + "`ws_path`" + `. A page that connects first gets the results of the last ` + "`backfill_windows`" + ` windows
(the largest ` + "`events`" + ` per user and window, as results arrive at least once) and the last
` + "`backfill_sessions`" + ` session results. A page that closes is dropped at once; a page that cannot keep
up is disconnected (it reconnects and gets the backfill). Nobody watching costs nothing: there is no
back-pressure on the topic.

Metrics: ` + "`live_view_pages`" + ` (connected pages), ` + "`live_view_results`" + ` (results read).`).
		Field(service.NewStringField(fAddress).Description("Where the page and the socket listen.").Default("127.0.0.1:8080")).
		Field(service.NewStringField(fPageFile).Description("The page served at / and /index.html (read at start).")).
		Field(service.NewStringField(fWSPath).Description("Path of the WebSocket.").Default("/ws")).
		Field(service.NewStringListField(fBrokers).Description("Kafka brokers (entries may hold several, comma separated).")).
		Field(service.NewStringField(fTopic).Description("Topic of the window results.").Default("user_stats")).
		Field(service.NewDurationField(fBackfillAge).Description("At start, read the results written this long before now.").Default("2m")).
		Field(service.NewIntField(fKeepWindows).Description("Windows a new page gets at once.").Default(6)).
		Field(service.NewIntField(fKeepSessions).Description("Session results a new page gets at once.").Default(10))
}

func init() {
	err := service.RegisterBatchInput("live_view", spec(), func(conf *service.ParsedConfig, mgr *service.Resources) (service.BatchInput, error) {
		return newInput(conf, mgr)
	})
	if err != nil {
		panic(err)
	}
}

type input struct {
	addr    string
	brokers []string
	topic   string
	age     time.Duration
	srv     *server
	log     *service.Logger
	results *service.MetricCounter

	once    sync.Once
	http    *http.Server
	served  chan struct{}
	client  *kgo.Client
	stop    context.CancelFunc
	stopped chan struct{}
}

func newInput(conf *service.ParsedConfig, mgr *service.Resources) (*input, error) {
	in := &input{log: mgr.Logger(), results: mgr.Metrics().NewCounter("live_view_results")}
	var err error
	if in.addr, err = conf.FieldString(fAddress); err != nil {
		return nil, err
	}
	pagePath, err := conf.FieldString(fPageFile)
	if err != nil {
		return nil, err
	}
	page, err := os.ReadFile(pagePath)
	if err != nil {
		return nil, fmt.Errorf("live_view %s: %w", fPageFile, err)
	}
	wsPath, err := conf.FieldString(fWSPath)
	if err != nil {
		return nil, err
	}
	raw, err := conf.FieldStringList(fBrokers)
	if err != nil {
		return nil, err
	}
	for _, e := range raw {
		in.brokers = append(in.brokers, splitComma(e)...)
	}
	if len(in.brokers) == 0 {
		return nil, fmt.Errorf("live_view %s: at least one broker is required", fBrokers)
	}
	if in.topic, err = conf.FieldString(fTopic); err != nil {
		return nil, err
	}
	if in.age, err = conf.FieldDuration(fBackfillAge); err != nil {
		return nil, err
	}
	keepW, err := conf.FieldInt(fKeepWindows)
	if err != nil {
		return nil, err
	}
	keepS, err := conf.FieldInt(fKeepSessions)
	if err != nil {
		return nil, err
	}
	if keepW < 1 || keepS < 0 {
		return nil, fmt.Errorf("live_view: %s must be at least 1 and %s at least 0 (got %d, %d)", fKeepWindows, fKeepSessions, keepW, keepS)
	}
	pages := mgr.Metrics().NewGauge("live_view_pages")
	in.srv = &server{page: page, wsPath: wsPath, hub: newHub(keepW, keepS, 256, func(n int) { pages.Set(int64(n)) })}
	return in, nil
}

func (in *input) Connect(context.Context) error {
	var err error
	in.once.Do(func() { err = in.start() })
	return err
}

func (in *input) start() error {
	ln, err := net.Listen("tcp", in.addr)
	if err != nil {
		return fmt.Errorf("live_view cannot listen on %s: %w", in.addr, err)
	}
	since := time.Now().Add(-in.age).UnixMilli()
	in.client, err = kgo.NewClient(kgo.SeedBrokers(in.brokers...), kgo.ConsumeTopics(in.topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AfterMilli(since)), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		ln.Close()
		return fmt.Errorf("live_view kafka client for %v: %w", in.brokers, err)
	}
	in.http = &http.Server{Handler: in.srv, ReadHeaderTimeout: 10 * time.Second}
	in.served = make(chan struct{})
	go func() {
		defer close(in.served)
		if err := in.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			in.log.Errorf("live_view server on %s stopped: %v", in.addr, err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	in.stop, in.stopped = cancel, make(chan struct{})
	go in.consume(ctx)
	in.log.Infof("Live page at http://%s/ (results of %s over %s)", ln.Addr(), in.topic, in.srv.wsPath)
	return nil
}

func (in *input) consume(ctx context.Context) {
	defer close(in.stopped)
	for {
		fs := in.client.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(t string, p int32, err error) {
			in.log.Debugf("live_view reading %s/%d: %v", t, p, err)
		})
		var values [][]byte
		fs.EachRecord(func(r *kgo.Record) { values = append(values, r.Value) })
		if len(values) > 0 {
			in.results.Incr(int64(len(values)))
			in.srv.hub.publish(values)
		}
	}
}

// ReadBatch passes nothing on: the results go to the pages from here.
func (in *input) ReadBatch(ctx context.Context) (service.MessageBatch, service.AckFunc, error) {
	<-ctx.Done()
	return nil, nil, ctx.Err()
}

func (in *input) Close(ctx context.Context) error {
	if in.stop != nil {
		in.stop()
		<-in.stopped
		in.client.Close()
	}
	if in.http != nil {
		// Hijacked WebSocket connections are not closed by Shutdown: their
		// writers end when the hub lets the pages go.
		in.srv.hub.closeAll()
		_ = in.http.Shutdown(ctx)
		<-in.served
	}
	return nil
}
