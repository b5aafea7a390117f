package trackapi

import (
	"strconv"
	"strings"

	"github.com/streamkit/pipeline/plugins/validate"
)

// Error body formats of a 422.
const (
	formatPipeline = "pipeline" // {"detail": [{"path", "rule", "message"}]}
	formatFastAPI  = "fastapi"  // {"detail": [{"loc", "msg", "type"}]}, as FastAPI + pydantic answer
)

// fastAPIDetail is one item of a FastAPI validation error body.
type fastAPIDetail struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// fastAPITypes maps our rules to pydantic v2 error types where one matches,
// so clients that switch on "type" keep working; other rules keep their name.
var fastAPITypes = map[string]string{
	validate.RuleRequired:     "missing",
	validate.RuleJSON:         "json_invalid",
	validate.RuleUTF8:         "json_invalid",
	validate.RuleDuplicateKey: "json_invalid",
	ruleSurrogate:             "json_invalid",
	validate.RuleEnum:         "enum",
	validate.RuleMinLength:    "too_short",
	validate.RuleMaxLength:    "too_long",
	validate.RuleTimestamp:    "datetime_parsing",
	validate.RuleNull:         "none_forbidden",
	validate.RuleType:         "type_error",
}

func toFastAPI(vs validate.Violations) []fastAPIDetail {
	out := make([]fastAPIDetail, len(vs))
	for i, v := range vs {
		typ, ok := fastAPITypes[v.Rule]
		if !ok {
			typ = v.Rule
		}
		msg := v.Message
		if v.Rule == validate.RuleRequired {
			msg = "Field required"
		}
		out[i] = fastAPIDetail{Loc: append([]any{"body"}, pathParts(v.Path)...), Msg: msg, Type: typ}
	}
	return out
}

// pathParts splits a violation path ("[2].metadata.page", `a["x.y"]`) into
// FastAPI's loc items: keys as strings, array indexes as numbers.
func pathParts(path string) []any {
	if path == "$" || path == "" {
		return nil
	}
	var parts []any
	for len(path) > 0 {
		switch {
		case path[0] == '.':
			path = path[1:]
		case strings.HasPrefix(path, `["`):
			k, rest, ok := quotedKey(path)
			if !ok {
				return append(parts, path)
			}
			parts, path = append(parts, k), rest
		case path[0] == '[':
			end := strings.IndexByte(path, ']')
			if end < 0 {
				return append(parts, path)
			}
			if n, err := strconv.Atoi(path[1:end]); err == nil {
				parts = append(parts, n)
			} else {
				parts = append(parts, path[1:end])
			}
			path = path[end+1:]
		default:
			end := strings.IndexAny(path, ".[")
			if end < 0 {
				end = len(path)
			}
			parts = append(parts, path[:end])
			path = path[end:]
		}
	}
	return parts
}

// quotedKey reads a `["key"]` path item, whose key is a Go-quoted string.
func quotedKey(path string) (key, rest string, ok bool) {
	for end := 2; end+1 < len(path); end++ {
		if path[end] == '"' && path[end+1] == ']' {
			if k, err := strconv.Unquote(path[1 : end+1]); err == nil {
				return k, path[end+2:], true
			}
		}
	}
	return "", "", false
}
