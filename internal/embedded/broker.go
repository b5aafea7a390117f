// Package embedded runs franz-go's kfake as the in-process Kafka broker that
// `pipeline` starts when no KAFKA_BROKERS are configured. It speaks the Kafka
// protocol over TCP on 127.0.0.1, so kcat, Python clients and other pipelines
// can use it while it runs, and it keeps records and committed offsets in a
// data directory like an embedded database.
package embedded

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

// DefaultPort is Kafka's usual port, so clients configured for a local broker
// find the embedded one without changes.
const DefaultPort = 9092

// DefaultDataDir is relative to the working directory, like a SQLite file
// next to the app: a restart in the same place finds the same data.
const DefaultDataDir = "pipeline-data"

// DefaultPartitions for auto-created topics: more than one so that keyed
// windows and per-partition watermarks are exercised as on a real cluster.
const DefaultPartitions = 3

// ProjectTopics exist from the start, so consumers that subscribe before
// anything was produced (confluent-kafka reports an unknown topic as an
// error, kafka-python waits for metadata) work on a fresh broker.
var ProjectTopics = []string{
	"clickstream", "clickstream-events", "user_stats", "clickstream-late", "clickstream-dlq",
	"clickstream-retry-1", "clickstream-retry-2", "clickstream-retry-3",
}

// Options configure the embedded broker.
type Options struct {
	// Port on 127.0.0.1; 0 picks a free port.
	Port int
	// DataDir keeps records and committed offsets across restarts.
	DataDir string
	// InMemory keeps nothing on disk: every start begins empty.
	InMemory bool
	// Partitions of auto-created topics.
	Partitions int
	// Topics are created up front with Partitions partitions.
	Topics []string
}

// Broker is a running embedded Kafka broker.
type Broker struct {
	cluster *kfake.Cluster
	addr    string
	dataDir string
	unlock  func()
}

// ErrPortInUse reports that the broker's port is taken.
var ErrPortInUse = errors.New("port in use")

// Start runs the broker until Close.
func Start(o Options) (*Broker, error) {
	if o.Partitions <= 0 {
		o.Partitions = DefaultPartitions
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(o.Port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(o.Partitions),
		kfake.ListenFn(func(network, address string) (net.Listener, error) {
			ln, err := net.Listen(network, address)
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, portInUse(address)
			}
			return ln, err
		}),
	}
	if len(o.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(o.Partitions), o.Topics...))
	}
	b := &Broker{}
	if !o.InMemory {
		// A taken port is the likelier mistake and has the more useful
		// advice: say so before looking at the data directory's lock.
		if o.Port != 0 {
			addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port))
			ln, err := net.Listen("tcp", addr)
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, portInUse(addr)
			}
			if err == nil {
				ln.Close()
			}
		}
		dir := o.DataDir
		if dir == "" {
			dir = DefaultDataDir
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("embedded Kafka broker data directory %q: %w", dir, err)
		}
		b.dataDir = abs
		if b.unlock, err = lockDataDir(abs); err != nil {
			return nil, err
		}
		opts = append(opts, kfake.DataDir(abs))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		if b.unlock != nil {
			b.unlock()
		}
		if errors.Is(err, ErrPortInUse) {
			return nil, err
		}
		return nil, fmt.Errorf("starting embedded Kafka broker: %w", err)
	}
	b.cluster = c
	b.addr = c.ListenAddrs()[0]
	autoCreateForOldMetadata(c)
	return b, nil
}

func portInUse(address string) error {
	return fmt.Errorf("embedded Kafka broker cannot listen on %s: %w (is another pipeline or Kafka broker running? "+
		"use it with KAFKA_BROKERS=%s, or pick another port with --broker-port / PIPELINE_BROKER_PORT)", address, ErrPortInUse, address)
}

// Addr is the host:port clients connect to.
func (b *Broker) Addr() string { return b.addr }

// DataDir is where records are kept, or "" when in memory.
func (b *Broker) DataDir() string { return b.dataDir }

// Cluster exposes kfake for tests that need its controls.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Describe is the one line an operator needs: where the broker is, where its
// data lives, and how to use a real cluster instead.
func (b *Broker) Describe() string {
	where := "in memory (lost on exit)"
	if b.dataDir != "" {
		where = "data kept in " + b.dataDir
	}
	return fmt.Sprintf("embedded Kafka broker listening on %s, %s; set KAFKA_BROKERS=host:port to use a real cluster instead", b.addr, where)
}

// Close stops the broker, writing its state to the data directory, and
// gives the directory up.
func (b *Broker) Close() {
	b.cluster.Close()
	if b.unlock != nil {
		b.unlock()
	}
}
