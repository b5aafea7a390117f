package dlq

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/bloblang"
	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultExclude lists metadata that is pipeline state, not a header of the
// original record; used only when the input did not record the headers.
var defaultExclude = []string{`^kafka_`, `^retry_`, `^error_class$`, `^error_component$`, `^validation_errors$`, `^error$`, `^@`, `^__rpcn`}

var errorSource = func() *bloblang.Executor {
	e, err := bloblang.Parse(`root = [error_source_label().or(""), error_source_name().or("")]`)
	if err != nil {
		panic(err)
	}
	return e
}()

func metaStr(m *service.Message, k string) string {
	v, _ := m.MetaGet(k)
	return v
}

func metaInt(m *service.Message, keys ...string) int64 {
	for _, k := range keys {
		if v, ok := m.MetaGet(k); ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return n
			}
		}
	}
	return Unknown
}

func firstMeta(m *service.Message, keys ...string) string {
	for _, k := range keys {
		if v := metaStr(m, k); v != "" {
			return v
		}
	}
	return ""
}

// failureOf reads the error text and failing component: the message's error
// (default error handling) or try_catch's error object (strict mode).
func failureOf(m *service.Message) (text, component string) {
	if err := m.GetError(); err != nil {
		text = err.Error()
		if v, qerr := m.BloblangQueryValue(errorSource); qerr == nil {
			if pair, ok := v.([]any); ok && len(pair) == 2 {
				component = firstNonEmpty(fmt.Sprint(pair[0]), fmt.Sprint(pair[1]))
			}
		}
	}
	if v, ok := m.MetaGetMut(meta.TryCatchError); ok {
		switch o := v.(type) {
		case map[string]any:
			if text == "" {
				text, _ = o["what"].(string)
			}
			if component == "" {
				l, _ := o["label"].(string)
				n, _ := o["name"].(string)
				component = firstNonEmpty(l, n)
			}
		case string:
			if text == "" {
				text = o
			}
		}
	}
	return text, firstNonEmpty(metaStr(m, meta.ErrorComponent), component)
}

// IsFailed tells route_errors where a message goes: errored (default mode),
// caught by try_catch (strict mode), or marked with an error_class.
func IsFailed(m *service.Message) bool {
	if m.GetError() != nil {
		return true
	}
	if _, ok := m.MetaGetMut(meta.ErrorClass); ok {
		return true
	}
	_, ok := m.MetaGetMut(meta.TryCatchError)
	return ok
}

// originalKey returns nil for a record without key.
func originalKey(m *service.Message) []byte {
	v, ok := m.MetaGetMut(meta.KafkaKey)
	if !ok || v == nil {
		return nil
	}
	switch k := v.(type) {
	case []byte:
		return k
	case string:
		return []byte(k)
	}
	return []byte(fmt.Sprint(v))
}

// originalHeaders prefers the exact headers the Kafka input recorded; other
// inputs get their metadata minus pipeline state.
func originalHeaders(m *service.Message, exclude []*regexp.Regexp) []Header {
	if v, ok := m.MetaGetMut(meta.KafkaHeaders); ok {
		if rh, ok := v.([]kgo.RecordHeader); ok {
			hs := make([]Header, 0, len(rh))
			for _, h := range rh {
				hs = append(hs, Header{h.Key, h.Value})
			}
			return hs
		}
	}
	var hs []Header
	_ = m.MetaWalk(func(k, v string) error {
		for _, re := range exclude {
			if re.MatchString(k) {
				return nil
			}
		}
		hs = append(hs, Header{k, []byte(v)})
		return nil
	})
	sort.Slice(hs, func(a, b int) bool { return hs[a].Key < hs[b].Key }) // metadata order is random
	return hs
}
