package window

import (
	"encoding/json"
	"time"
)

// t0 is 2024-01-01T00:00:00Z, a UTC midnight, in unix ns.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

func sec(n float64) int64 { return int64(n * float64(time.Second)) }

// at is t0 + n seconds.
func at(n float64) int64 { return t0 + sec(n) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
