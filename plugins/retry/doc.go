// Package retry implements non-blocking retries over Kafka topics, in the
// style of Spring Kafka's retry topics: a failed message is parked on a
// stage topic with a due time instead of blocking its partition, consumed
// again when due, and ends in a dead letter output when it is fatal or has
// used up its attempts.
//
// The package is split so the policy can be tested without Kafka or Benthos:
//
//   - schedule.go: the ladder (stage delays, topics, max attempts) and the
//     decision for one failure (next stage and due time, or dead letter).
//   - state.go: the retry state carried in record headers / metadata.
//   - gate.go: per-partition release of records at their due time.
//   - keyorder.go: optional per-key ordering bookkeeping.
//   - output_retry_router*.go: the `retry_router` output (Benthos adapter).
//   - input_retry_topics*.go: the `retry_topics` input (Benthos + franz-go adapter).
package retry
