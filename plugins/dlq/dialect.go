package dlq

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// Dialect selects the header names and number encoding of the envelope.
type Dialect string

const (
	Native       Dialect = "native"        // dlq_* names, decimal strings
	KafkaConnect Dialect = "kafka_connect" // __connect.errors.*, decimal strings
	Spring       Dialect = "spring"        // kafka_dlt-*, big-endian binary numbers
	// KafkaStreams is only read (KIP-1034 __streams.errors.*), never written.
	KafkaStreams Dialect = "kafka_streams"
)

// ParseDialect accepts the names used in configs and CLI flags.
func ParseDialect(s string) (Dialect, error) {
	switch d := Dialect(s); d {
	case Native, KafkaConnect, Spring:
		return d, nil
	}
	return "", fmt.Errorf("unknown header dialect %q (native, kafka_connect, spring)", s)
}

// Native header names. Fields a foreign dialect has no name for are written
// with these names in every dialect, so no information is lost and our
// replay reads them back; foreign consumers ignore unknown headers.
const (
	HError            = "dlq_error"
	HClass            = "dlq_error_class"
	HComponent        = "dlq_error_component"
	HTopic            = "dlq_original_topic"
	HPartition        = "dlq_original_partition"
	HOffset           = "dlq_original_offset"
	HTimestamp        = "dlq_original_timestamp_ms"
	HConsumerGroup    = "dlq_consumer_group"
	HAttempts         = "dlq_attempts"
	HFirstFailure     = "dlq_first_failure_ms"
	HLastFailure      = "dlq_last_failure_ms"
	HPipeline         = "dlq_pipeline"
	HValidationErrors = "dlq_validation_errors"
	HOriginalSize     = "dlq_original_size"
	// HReplayCount is not part of the envelope: it survives replays, counting
	// how often a record went back to its topic.
	HReplayCount = "dlq_replay_count"
)

// Kafka Connect names (errors.deadletterqueue.context.headers.enable=true).
const (
	cPrefix         = "__connect.errors."
	cTopic          = cPrefix + "topic"
	cPartition      = cPrefix + "partition"
	cOffset         = cPrefix + "offset"
	cConnector      = cPrefix + "connector.name"
	cTask           = cPrefix + "task.id"
	cStage          = cPrefix + "stage"
	cClassName      = cPrefix + "class.name"
	cExceptionClass = cPrefix + "exception.class.name"
	cMessage        = cPrefix + "exception.message"
	cStacktrace     = cPrefix + "exception.stacktrace"
)

// Spring Kafka names (DeadLetterPublishingRecoverer, retry topics).
const (
	sPrefix        = "kafka_dlt-"
	sTopic         = sPrefix + "original-topic"
	sPartition     = sPrefix + "original-partition"
	sOffset        = sPrefix + "original-offset"
	sTimestamp     = sPrefix + "original-timestamp"
	sTimestampType = sPrefix + "original-timestamp-type"
	sGroup         = sPrefix + "original-consumer-group"
	sFQCN          = sPrefix + "exception-fqcn"
	sCauseFQCN     = sPrefix + "exception-cause-fqcn"
	sMessage       = sPrefix + "exception-message"
	sStacktrace    = sPrefix + "exception-stacktrace"
	sAttempts      = "retry_topic-attempts"
	sBackoff       = "retry_topic-backoff-timestamp"
)

// Kafka Streams (KIP-1034) names, read only.
const (
	kPrefix    = "__streams.errors."
	kTopic     = kPrefix + "topic"
	kPartition = kPrefix + "partition"
	kOffset    = kPrefix + "offset"
	kException = kPrefix + "exception"
	kMessage   = kPrefix + "message"
	kStack     = kPrefix + "stacktrace"
)

// IsEnvelopeKey reports whether a header belongs to a DLQ envelope of any
// dialect; such headers are replaced when dead-lettering and stripped when
// replaying. The replay count is not envelope.
func IsEnvelopeKey(k string) bool {
	if k == HReplayCount {
		return false
	}
	return strings.HasPrefix(k, "dlq_") || strings.HasPrefix(k, cPrefix) || strings.HasPrefix(k, sPrefix) ||
		strings.HasPrefix(k, kPrefix) || k == sAttempts || k == sBackoff
}

func dec(n int64) []byte { return []byte(strconv.FormatInt(n, 10)) }

func be32(n int64) []byte { return binary.BigEndian.AppendUint32(nil, uint32(int32(n))) }

func be64(n int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(n)) }

// Encode renders the envelope as headers in the given dialect, in a fixed
// order. Unknown numbers and empty strings are left out.
func Encode(e Envelope, d Dialect) []Header {
	var hs []Header
	str := func(k, v string) {
		if v != "" {
			hs = append(hs, Header{k, []byte(v)})
		}
	}
	num := func(k string, n int64, enc func(int64) []byte) {
		if n != Unknown {
			hs = append(hs, Header{k, enc(n)})
		}
	}
	switch d {
	case KafkaConnect:
		str(cTopic, e.Topic)
		num(cPartition, e.Partition, dec)
		num(cOffset, e.Offset, dec)
		str(cConnector, e.ConsumerGroup)
		if e.ConsumerGroup != "" {
			str(cTask, "0")
		}
		str(cStage, strings.ToUpper(e.Class))
		str(cClassName, e.Component)
		str(cExceptionClass, e.Class)
		str(cMessage, e.Error)
		num(HTimestamp, e.TimestampMs, dec)
	case Spring:
		str(sTopic, e.Topic)
		num(sPartition, e.Partition, be32)
		num(sOffset, e.Offset, be64)
		if e.TimestampMs != Unknown {
			num(sTimestamp, e.TimestampMs, be64)
			str(sTimestampType, "CreateTime")
		}
		str(sGroup, e.ConsumerGroup)
		str(sFQCN, e.Class)
		str(sMessage, e.Error)
		num(sAttempts, e.Attempts, be32)
		str(HComponent, e.Component)
	default:
		str(HError, e.Error)
		str(HClass, e.Class)
		str(HComponent, e.Component)
		str(HTopic, e.Topic)
		num(HPartition, e.Partition, dec)
		num(HOffset, e.Offset, dec)
		num(HTimestamp, e.TimestampMs, dec)
		str(HConsumerGroup, e.ConsumerGroup)
		num(HAttempts, e.Attempts, dec)
		str(HValidationErrors, e.ValidationErrors)
	}
	// Fields without a name in the foreign dialects keep the native name.
	if d == KafkaConnect {
		num(HAttempts, e.Attempts, dec)
		str(HConsumerGroup, e.ConsumerGroup)
	}
	num(HFirstFailure, e.FirstFailureMs, dec)
	num(HLastFailure, e.LastFailureMs, dec)
	str(HPipeline, e.Pipeline)
	num(HOriginalSize, e.OriginalSize, dec)
	return hs
}

// Detect names the dialect of a header set, or "" when there is no envelope.
func Detect(h map[string][]byte) Dialect {
	switch {
	case h[HError] != nil || h[HClass] != nil:
		return Native
	case h[cMessage] != nil || h[cTopic] != nil:
		return KafkaConnect
	case h[sMessage] != nil || h[sTopic] != nil || h[sFQCN] != nil:
		return Spring
	case h[kMessage] != nil || h[kTopic] != nil || h[kException] != nil:
		return KafkaStreams
	}
	return ""
}

// Decode reads an envelope in any dialect, falling back to native names for
// the fields foreign dialects lack. ok is false when there is no envelope.
func Decode(h map[string][]byte) (e Envelope, d Dialect, err error) {
	e = NewEnvelope()
	d = Detect(h)
	s := func(k string) string { return string(h[k]) }
	var errs []string
	decNum := func(k string, dst *int64) {
		if v, ok := h[k]; ok {
			n, perr := strconv.ParseInt(strings.TrimSpace(string(v)), 10, 64)
			if perr != nil {
				errs = append(errs, fmt.Sprintf("%s: not a decimal number", k))
				return
			}
			*dst = n
		}
	}
	binNum := func(k string, dst *int64) {
		v, ok := h[k]
		if !ok {
			return
		}
		switch len(v) {
		case 4:
			*dst = int64(int32(binary.BigEndian.Uint32(v)))
		case 8:
			*dst = int64(binary.BigEndian.Uint64(v))
		default:
			errs = append(errs, fmt.Sprintf("%s: %d bytes, want a 4 or 8 byte big-endian number", k, len(v)))
		}
	}
	// Native names first: foreign dialects use them for their extras.
	e.Error, e.Class, e.Component, e.Topic = s(HError), s(HClass), s(HComponent), s(HTopic)
	e.ConsumerGroup, e.Pipeline, e.ValidationErrors = s(HConsumerGroup), s(HPipeline), s(HValidationErrors)
	for k, dst := range map[string]*int64{HPartition: &e.Partition, HOffset: &e.Offset, HTimestamp: &e.TimestampMs,
		HAttempts: &e.Attempts, HFirstFailure: &e.FirstFailureMs, HLastFailure: &e.LastFailureMs, HOriginalSize: &e.OriginalSize} {
		decNum(k, dst)
	}
	switch d {
	case KafkaConnect:
		e.Topic, e.Error = s(cTopic), s(cMessage)
		e.Class = firstNonEmpty(s(cExceptionClass), e.Class)
		e.Component = firstNonEmpty(s(cClassName), e.Component)
		e.ConsumerGroup = firstNonEmpty(s(cConnector), e.ConsumerGroup)
		decNum(cPartition, &e.Partition)
		decNum(cOffset, &e.Offset)
	case Spring:
		e.Topic, e.Error = s(sTopic), s(sMessage)
		e.Class = firstNonEmpty(s(sFQCN), e.Class)
		e.ConsumerGroup = firstNonEmpty(s(sGroup), e.ConsumerGroup)
		binNum(sPartition, &e.Partition)
		binNum(sOffset, &e.Offset)
		binNum(sTimestamp, &e.TimestampMs)
		binNum(sAttempts, &e.Attempts)
	case KafkaStreams:
		e.Topic, e.Error, e.Class = s(kTopic), s(kMessage), s(kException)
		decNum(kPartition, &e.Partition)
		decNum(kOffset, &e.Offset)
	}
	if len(errs) > 0 {
		return e, d, fmt.Errorf("malformed %s envelope: %s", d, strings.Join(errs, "; "))
	}
	return e, d, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
