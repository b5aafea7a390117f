// Package meta is the metadata contract between the plugins of this
// project: every metadata key one plugin writes and another reads, and the
// error-class enum. A plugin names a key through this package, never as a
// string literal, so renaming a key or adding a class is a change here that
// the compiler carries to every reader.
//
// The constants are untyped strings on purpose: Benthos stores metadata
// values as `any` (MetaSetMut), and a named string type would be stored as
// that type instead of a string.
package meta

// Kafka record metadata, as the redpanda/kafka_franz inputs of Connect write
// it; window_kafka and retry_topics write the same keys.
const (
	KafkaKey           = "kafka_key"
	KafkaTopic         = "kafka_topic"
	KafkaPartition     = "kafka_partition"
	KafkaOffset        = "kafka_offset"
	KafkaTimestampMs   = "kafka_timestamp_ms"
	KafkaTimestampUnix = "kafka_timestamp_unix"
	KafkaTombstone     = "kafka_tombstone_message"
	KafkaLag           = "kafka_lag"
	KafkaConsumerGroup = "kafka_consumer_group"
	// KafkaHeaders holds the record's headers in order and as bytes
	// ([]kgo.RecordHeader); Connect's redpanda input sets it
	// (franz_headers.go), and so do window_kafka and retry_topics.
	KafkaHeaders = "__rpcn_kafka_headers"
)

// KafkaPrefix starts every Kafka record metadata key above but KafkaHeaders.
const KafkaPrefix = "kafka_"

// Failure metadata: why a message failed and who failed it.
const (
	// ErrorClass holds one of the Class* values; a message that carries it
	// has failed even when it has no Benthos error (route_errors, retry_router).
	ErrorClass = "error_class"
	// ErrorComponent names the failing component. Benthos' Message.SetError
	// overwrites the component-tagged error, so error_source_label() is null
	// for plugin processors (v4.80.0); our processors set this key instead.
	ErrorComponent = "error_component"
	// ValidationErrors is validate's JSON array of {path, rule, message}.
	ValidationErrors = "validation_errors"
	// TryCatchError is where try_catch puts the error object
	// {what, label, name, path} in strict error handling.
	TryCatchError = "error"
)

// Error classes: the values of ErrorClass. The dead-letter envelope records
// them (dlq_error_class) and `pipeline dlq --class` filters on them.
const (
	// ClassValidation: the event broke its schema (validate, or a window
	// timestamp that does not parse). Not retriable.
	ClassValidation = "validation"
	// ClassProcessing: a processor failed (enrichment); retriable.
	ClassProcessing = "processing"
	// ClassLate: the event arrived after its window closed. Not retriable:
	// it goes to the late route with its original bytes.
	ClassLate = "late"
	// ClassUnowned: a retried event whose origin partition this instance
	// does not own (window_kafka source).
	ClassUnowned = "unowned"
	// ClassRetriesExhausted: the retry ladder ran out.
	ClassRetriesExhausted = "retries_exhausted"
	// ClassFatal: a failure the retry policy does not retry.
	ClassFatal = "fatal"
)

// Classes lists every error class, in the order reports show them.
var Classes = []string{ClassValidation, ClassProcessing, ClassLate, ClassUnowned, ClassRetriesExhausted, ClassFatal}

// IsClass reports whether s is one of the error classes.
func IsClass(s string) bool {
	for _, c := range Classes {
		if c == s {
			return true
		}
	}
	return false
}
