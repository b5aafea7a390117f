// Package dlq dead-letters failed messages with an envelope of headers in
// one of three dialects (native, Kafka Connect, Spring Kafka), routes failed
// messages to it, and decodes/filters/replays dead letters.
//
// The engine (this file, dialect.go, fit.go, replay.go, inspect.go) is plain
// Go; the Benthos components are thin adapters around it.
package dlq

// Unknown marks a numeric envelope field that is not known.
const Unknown int64 = -1

// Envelope is what the DLQ records about a failure, independent of dialect.
// Numeric fields are Unknown when not known.
type Envelope struct {
	Error            string // error message
	Class            string // one of meta.Classes
	Component        string // label (or name) of the failing component
	Topic            string // original topic
	Partition        int64
	Offset           int64
	TimestampMs      int64 // original record timestamp
	ConsumerGroup    string
	Attempts         int64
	FirstFailureMs   int64
	LastFailureMs    int64
	Pipeline         string
	ValidationErrors string // JSON array from the validate processor, native dialect only
	OriginalSize     int64  // set when the payload was truncated to fit
}

// NewEnvelope returns an envelope with every number unknown.
func NewEnvelope() Envelope {
	return Envelope{Partition: Unknown, Offset: Unknown, TimestampMs: Unknown, Attempts: Unknown,
		FirstFailureMs: Unknown, LastFailureMs: Unknown, OriginalSize: Unknown}
}

// Header is one Kafka record header. Values are bytes because Spring's
// numbers are binary.
type Header struct {
	Key   string
	Value []byte
}

// Record is a Kafka record as the DLQ sees it.
type Record struct {
	Key         []byte // nil = no key
	Value       []byte
	Headers     []Header
	TimestampMs int64
}
