// Package failure shapes a failed message for a route that writes the event
// as it was read (the late topic, a plain Kafka dead-letter topic): the
// payload dlq_keep_raw stashed, and the error text as metadata `error`.
// retry_router and route_errors share it, so both routes write the same
// record.
package failure

import (
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/meta"
)

// AsRead sets msg's payload to the bytes stashed by dlq_keep_raw (when
// there are any) and metadata `error` to its error text (when it has an
// error). It changes msg in place; pass a copy.
func AsRead(msg *service.Message) {
	if raw, ok := msg.MetaGetMut(meta.StashRaw); ok {
		switch b := raw.(type) {
		case []byte:
			msg.SetBytes(b)
		case string:
			msg.SetBytes([]byte(b))
		}
	}
	if err := msg.GetError(); err != nil {
		msg.MetaSetMut(meta.TryCatchError, err.Error())
	}
}

// IsLate tells whether msg is a late event (error_class late).
func IsLate(msg *service.Message) bool {
	c, _ := msg.MetaGet(meta.ErrorClass)
	return c == meta.ClassLate
}

// LateDefaults are the fields of a Kafka child of a late route that the
// contract decides: the original key, and the window's account of the event
// (window_*) with the error (error, error_class) as headers.
var LateDefaults = map[string]any{
	"key":      `${! @` + meta.KafkaKey + `.or("") }`,
	"metadata": map[string]any{"include_patterns": []string{"^" + meta.WindowPrefix, "^" + meta.TryCatchError}},
}
