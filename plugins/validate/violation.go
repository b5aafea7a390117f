package validate

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Violation is one broken rule. Path uses dots for object keys and [i] for
// array items ("metadata.page", "tags[2]"); "$" is the payload itself, used
// for problems that stop decoding (not JSON, too large, invalid UTF-8).
type Violation struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// Rules reported by the checkers. JSON Schema violations use the failing
// keyword as their rule instead ("minLength", "const", ...).
const (
	RuleJSON         = "json"
	RuleUTF8         = "utf8"
	RuleMaxBytes     = "max_bytes"
	RuleDuplicateKey = "duplicate_key"
	RuleDepth        = "depth"
	RuleRequired     = "required"
	RuleNull         = "nullable"
	RuleType         = "type"
	RuleEnum         = "enum"
	RuleMin          = "min"
	RuleMax          = "max"
	RuleMinLength    = "min_length"
	RuleMaxLength    = "max_length"
	RulePattern      = "pattern"
	RuleTimestamp    = "timestamp"
	RuleFuture       = "max_future"
	RulePast         = "max_past"
	RuleUnknownField = "unknown_field"
)

// rootPath names the whole payload in violations.
const rootPath = "$"

// Violations is the error attached to a failed message: every violation,
// joined so the error alone is readable in logs.
type Violations []Violation

func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Path + ": " + v.Message
	}
	return strings.Join(parts, "; ")
}

// JSON renders the violations for the `validation_errors` metadata.
func (vs Violations) JSON() string {
	if vs == nil {
		vs = Violations{}
	}
	b, _ := json.Marshal([]Violation(vs))
	return string(b)
}

// joinPath appends an object key; keys that would make the path ambiguous
// (empty, or containing . [ ] ") are written as ["key"].
func joinPath(parent, key string) string {
	if parent == rootPath {
		parent = ""
	}
	if key == "" || strings.ContainsAny(key, `.[]"`) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	if parent == rootPath {
		parent = ""
	}
	return parent + "[" + strconv.Itoa(i) + "]"
}
