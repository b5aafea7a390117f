package retry

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/streamkit/pipeline/internal/meta"
)

// DefaultTopicPattern names stage topics after the topic the message was
// first consumed from, so several source topics can share one router.
const DefaultTopicPattern = "{topic}-retry-{stage}"

// Ladder is the retry policy: one delay per stage, the topic of each stage and
// the total number of processing attempts. It is plain data so it can be
// built from config, validated and tested without Benthos.
type Ladder struct {
	// Delays holds the base delay of each stage, stage 1 first.
	Delays []time.Duration
	// Topics are explicit stage topics: empty (use TopicPattern), one (a
	// single topic reused by every stage, typical for a fixed delay) or one
	// per stage.
	Topics []string
	// TopicPattern names stage topics when Topics is empty; `{topic}` is the
	// original topic and `{stage}` the 1-based stage number.
	TopicPattern string
	// MaxAttempts is the total number of processing attempts, the first one
	// included. Zero means one attempt per stage plus the first. When it
	// exceeds the number of stages + 1 the last stage is reused.
	MaxAttempts int
	// Jitter in [0,1] lowers each delay by up to that fraction, chosen by
	// Rand, so a burst of failures does not come back as a burst. It only
	// ever shortens a delay, so a cap is never exceeded.
	Jitter float64
	// Rand returns a value in [0,1); injectable for deterministic tests.
	// Nil means no jitter is applied.
	Rand func() float64
}

// ExponentialDelays builds `stages` delays starting at initial, multiplied
// by multiplier per stage and capped at max (zero max means no cap).
func ExponentialDelays(initial, max time.Duration, multiplier float64, stages int) ([]time.Duration, error) {
	switch {
	case stages <= 0:
		return nil, fmt.Errorf("exponential.stages must be positive, got %d", stages)
	case initial <= 0:
		return nil, fmt.Errorf("exponential.initial_delay must be positive, got %v", initial)
	case multiplier < 1 || math.IsNaN(multiplier) || math.IsInf(multiplier, 0):
		return nil, fmt.Errorf("exponential.multiplier must be >= 1, got %v", multiplier)
	case max < 0:
		return nil, fmt.Errorf("exponential.max_delay must not be negative, got %v", max)
	}
	out := make([]time.Duration, stages)
	d := float64(initial)
	for i := range out {
		// Cap in float space first: multiplying past MaxInt64 would wrap.
		if max > 0 && d > float64(max) {
			d = float64(max)
		}
		if d > math.MaxInt64/2 {
			d = math.MaxInt64 / 2
		}
		out[i] = time.Duration(d)
		d *= multiplier
	}
	return out, nil
}

// Validate reports the first configuration error, naming the config field.
func (l *Ladder) Validate() error {
	if len(l.Delays) == 0 {
		return errors.New("delays: the retry ladder is empty, set delays or exponential.stages")
	}
	for i, d := range l.Delays {
		if d < 0 {
			return fmt.Errorf("delays[%d]: negative delay %v", i, d)
		}
	}
	if n := len(l.Topics); n > 1 && n != len(l.Delays) {
		return fmt.Errorf("topics: got %d topics for %d stages, give one topic (reused) or one per stage", n, len(l.Delays))
	}
	for i, t := range l.Topics {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("topics[%d]: empty topic name", i)
		}
	}
	if len(l.Topics) == 0 {
		p := l.pattern()
		if len(l.Delays) > 1 && !strings.Contains(p, "{stage}") {
			return fmt.Errorf("topic_pattern: %q must contain {stage} when there are %d stages", p, len(l.Delays))
		}
	}
	if l.MaxAttempts < 0 {
		return fmt.Errorf("max_attempts: must not be negative, got %d", l.MaxAttempts)
	}
	if l.Jitter < 0 || l.Jitter > 1 || math.IsNaN(l.Jitter) {
		return fmt.Errorf("jitter: must be within [0, 1], got %v", l.Jitter)
	}
	return nil
}

func (l *Ladder) pattern() string {
	if l.TopicPattern == "" {
		return DefaultTopicPattern
	}
	return l.TopicPattern
}

// Attempts is the effective total number of processing attempts.
func (l *Ladder) Attempts() int {
	if l.MaxAttempts > 0 {
		return l.MaxAttempts
	}
	return len(l.Delays) + 1
}

// StageFor returns the 1-based stage a message enters after its n-th failed
// attempt (n >= 1); past the end of the ladder the last stage is reused.
func (l *Ladder) StageFor(failures int) int {
	if failures < 1 {
		failures = 1
	}
	return min(failures, len(l.Delays))
}

// Topic names the topic of a 1-based stage for a message first consumed
// from originalTopic.
func (l *Ladder) Topic(stage int, originalTopic string) string {
	switch len(l.Topics) {
	case 0:
		r := strings.NewReplacer("{topic}", originalTopic, "{stage}", strconv.Itoa(stage))
		return r.Replace(l.pattern())
	case 1:
		return l.Topics[0]
	default:
		return l.Topics[stage-1]
	}
}

// Delay returns the delay of a 1-based stage with jitter applied.
func (l *Ladder) Delay(stage int) time.Duration {
	d := l.Delays[stage-1]
	if l.Jitter > 0 && l.Rand != nil {
		d -= time.Duration(float64(d) * l.Jitter * l.Rand())
	}
	return d
}

// Route is where a failed message goes next.
type Route int

const (
	// ToStage sends the message to Decision.Topic, due at Decision.Due.
	ToStage Route = iota
	// ToDLQ sends the message to the dead letter output with Decision.Class.
	ToDLQ
)

// Decision is the outcome of one failure.
type Decision struct {
	Route Route
	Stage int // 1-based; only for ToStage
	Topic string
	Due   time.Time
	Class string // only for ToDLQ
	// State is the retry state to write with the message (attempt, failure
	// times, due time, last error) whichever route is taken.
	State State
}

// OnFailure decides what happens to a message that failed at `now`. prev is
// the state it carried (zero value for a first failure, with the Original*
// fields filled by the caller), retriable the verdict of the `retriable`
// condition and errClass the class the failing component set, if any.
func (l *Ladder) OnFailure(prev State, now time.Time, retriable bool, errClass, lastErr string) Decision {
	st := prev
	st.Attempt = prev.Attempt + 1
	nowMs := now.UnixMilli()
	if st.FirstFailureMs == 0 {
		st.FirstFailureMs = nowMs
	}
	st.LastFailureMs = nowMs
	st.LastError = lastErr
	st.DueMs = 0

	if !retriable {
		return Decision{Route: ToDLQ, Class: fatalClass(errClass), State: st}
	}
	if st.Attempt >= l.Attempts() {
		return Decision{Route: ToDLQ, Class: meta.ClassRetriesExhausted, State: st}
	}
	stage := l.StageFor(st.Attempt)
	due := now.Add(l.Delay(stage))
	st.DueMs = due.UnixMilli()
	return Decision{
		Route: ToStage,
		Stage: stage,
		Topic: l.Topic(stage, st.OriginalTopic),
		Due:   due,
		State: st,
	}
}

// fatalClass keeps a specific class set by the failing component (a
// validation or lateness failure says more than "fatal") and maps anything
// else to fatal.
func fatalClass(errClass string) string {
	switch errClass {
	case meta.ClassValidation, meta.ClassLate, meta.ClassFatal:
		return errClass
	}
	return meta.ClassFatal
}
