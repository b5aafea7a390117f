package dlq

import "unicode/utf8"

// Kafka record overhead estimates, generous so a record that fits by this
// count also fits the broker's max.message.bytes: per-record fields
// (length, attributes, deltas, key/value lengths) and per-header varints.
const (
	recordOverhead = 64
	headerOverhead = 10
)

// Size estimates the encoded size of a record.
func Size(r Record) int {
	n := recordOverhead + len(r.Key) + len(r.Value)
	for _, h := range r.Headers {
		n += headerOverhead + len(h.Key) + len(h.Value)
	}
	return n
}

// Fit makes the dead-letter record fit into max bytes so the DLQ write can
// never fail for size, which would block the input forever (the message is
// nacked and retried). It shrinks, in order: validation errors, the error
// text, then the payload (recording its original size). Header order is kept.
func Fit(r Record, e *Envelope, d Dialect, max int) (Record, bool) {
	if max <= 0 {
		return withEnvelope(r, *e, d), false
	}
	build := func() Record { return withEnvelope(r, *e, d) }
	out := build()
	over := Size(out) - max
	if over <= 0 {
		return out, false
	}
	if e.ValidationErrors != "" {
		if over >= len(e.ValidationErrors) {
			e.ValidationErrors = ""
		} else {
			e.ValidationErrors = truncateUTF8(e.ValidationErrors, len(e.ValidationErrors)-over-len("…"))
		}
		if out = build(); Size(out) <= max {
			return out, true
		}
		over = Size(out) - max
	}
	const minError = 256 // keep the start of the error: it is what operators search
	if len(e.Error) > minError {
		keep := len(e.Error) - over - len("…")
		if keep < minError {
			keep = minError
		}
		e.Error = truncateUTF8(e.Error, keep)
		if out = build(); Size(out) <= max {
			return out, true
		}
		over = Size(out) - max
	}
	e.OriginalSize = int64(len(r.Value))
	out = build() // the size header itself takes room
	over = Size(out) - max
	keep := len(r.Value) - over
	if keep < 0 {
		keep = 0
	}
	r.Value = r.Value[:keep]
	return withEnvelope(r, *e, d), true
}

func withEnvelope(r Record, e Envelope, d Dialect) Record {
	hs := make([]Header, 0, len(r.Headers)+16)
	for _, h := range r.Headers {
		if !IsEnvelopeKey(h.Key) { // a stale envelope would contradict the new one
			hs = append(hs, h)
		}
	}
	r.Headers = append(hs, Encode(e, d)...)
	return r
}

// truncateUTF8 cuts s to at most n bytes on a rune boundary and marks the cut.
func truncateUTF8(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
