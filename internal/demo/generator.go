// Package demo makes realistic clickstream events for the embedded broker, so
// a newcomer sees every route of the main job within a minute without writing
// a producer first. Events have the seeds' shape; a few arrive out of order,
// about 2% are malformed in the ways real producers break (to the DLQ as
// validation), 3% are too late for their window (to clickstream-late) and 3%
// come from users whose profile lookup always fails (the whole retry ladder,
// then the DLQ as retries_exhausted).
package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// EventTypes are the valid clickstream event types.
var EventTypes = []string{"page_view", "click", "scroll", "add_to_cart", "purchase"}

var (
	pages   = []string{"/", "/search", "/product", "/cart", "/checkout", "/account", "/deals"}
	actions = []string{"view", "alternative_handset", "compare", "rating", "wishlist", "share"}
	agents  = []string{
		"Opera/8.81.(X11; Linux x86_64; hi-IN) Presto/2.9.181 Version/12.00",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
	}
)

// Event is one clickstream event as the seeds' producers write it.
type Event struct {
	EventType string   `json:"event_type"`
	UserID    string   `json:"user_id"`
	Action    string   `json:"action"`
	Timestamp string   `json:"timestamp"`
	Metadata  Metadata `json:"metadata"`
}

// Metadata is the nested part of an Event.
type Metadata struct {
	SessionID string `json:"session_id"`
	Page      string `json:"page"`
	ItemID    string `json:"item_id"`
	UserAgent string `json:"user_agent"`
}

// Record is what the producer writes: the Kafka key is the user id.
type Record struct {
	Key       []byte
	Value     []byte
	Malformed string // why the value is bad, "" for a valid event
	Late      bool   // stamped too far in the past for its window
	NoProfile bool   // from a user the profile service never knows
}

// NoProfilePrefix starts the ids of the demo's users whose profile lookups
// always fail, so their events climb the whole retry ladder into the DLQ
// (class retries_exhausted). The local profile service fails them.
const NoProfilePrefix = "no-profile-"

// Generator makes events from a seeded source, so a run can be reproduced.
type Generator struct {
	rng            *rand.Rand
	users          []string
	sessions       []string
	MalformedRatio float64       // fraction of malformed events
	DisorderRatio  float64       // fraction stamped in the past
	MaxDisorder    time.Duration // how far in the past at most
	// LateRatio of the events are stamped LateBy..2*LateBy in the past:
	// beyond the main job's allowed lateness, so they go to clickstream-late.
	LateRatio float64
	LateBy    time.Duration
	// NoProfileRatio of the events come from users whose profile lookups
	// always fail (ids with NoProfilePrefix).
	NoProfileRatio float64
	noProfile      []string
}

// NewGenerator returns a generator over n users.
func NewGenerator(seed uint64, users int) *Generator {
	g := &Generator{
		rng:            rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		MalformedRatio: 0.02,
		DisorderRatio:  0.1,
		MaxDisorder:    4 * time.Second,
		LateRatio:      0.03,
		LateBy:         30 * time.Second,
		NoProfileRatio: 0.03,
		noProfile:      []string{NoProfilePrefix + "1", NoProfilePrefix + "2"},
	}
	for i := 0; i < users; i++ {
		g.users = append(g.users, g.hexID(8)+"-"+g.hexID(4))
		g.sessions = append(g.sessions, g.hexID(8)+"-"+g.hexID(4)+"-"+g.hexID(4)+"-"+g.hexID(4))
	}
	return g
}

// Users returns the user ids the generator draws from.
func (g *Generator) Users() []string { return g.users }

// Next makes one event stamped around now.
//
// Each event is one of: malformed (MalformedRatio), late (LateRatio), from a
// user without a profile (NoProfileRatio), or a normal one, a few of them a
// little out of order (DisorderRatio, within MaxDisorder).
func (g *Generator) Next(now time.Time) Record {
	u := g.rng.IntN(len(g.users))
	user := g.users[u]
	ts := now
	var late, noProfile bool
	switch x := g.rng.Float64(); {
	case x < g.LateRatio:
		late = true
		ts = ts.Add(-g.LateBy - time.Duration(g.rng.Int64N(int64(g.LateBy))))
	case x < g.LateRatio+g.NoProfileRatio:
		noProfile = true
		user = g.noProfile[g.rng.IntN(len(g.noProfile))]
	case g.rng.Float64() < g.DisorderRatio:
		ts = ts.Add(-time.Duration(g.rng.Int64N(int64(g.MaxDisorder))))
	}
	e := Event{
		EventType: EventTypes[g.rng.IntN(len(EventTypes))],
		UserID:    user,
		Action:    actions[g.rng.IntN(len(actions))],
		// Python's datetime.isoformat(): microseconds, no zone, as in the seeds.
		Timestamp: ts.UTC().Format("2006-01-02T15:04:05.000000"),
		Metadata: Metadata{
			SessionID: g.sessions[u],
			Page:      pages[g.rng.IntN(len(pages))],
			ItemID:    g.hexID(8),
			UserAgent: agents[g.rng.IntN(len(agents))],
		},
	}
	rec := Record{Key: []byte(e.UserID)}
	if !late && !noProfile && g.rng.Float64() < g.MalformedRatio/(1-g.LateRatio-g.NoProfileRatio) {
		return g.malform(rec, e)
	}
	rec.Late, rec.NoProfile = late, noProfile
	rec.Value, _ = json.Marshal(e)
	return rec
}

// malform breaks an event in one of the ways the DLQ must catch.
func (g *Generator) malform(rec Record, e Event) Record {
	switch g.rng.IntN(4) {
	case 0:
		v, _ := json.Marshal(e)
		rec.Value, rec.Malformed = v[:len(v)/2], "bad JSON (truncated)"
	case 1:
		m := map[string]any{"event_type": e.EventType, "action": e.Action, "timestamp": e.Timestamp, "metadata": e.Metadata}
		rec.Value, _ = json.Marshal(m)
		rec.Malformed = "missing user_id"
	case 2:
		e.EventType = "hover"
		rec.Value, _ = json.Marshal(e)
		rec.Malformed = "unknown event_type"
	default:
		e.Timestamp = "yesterday"
		rec.Value, _ = json.Marshal(e)
		rec.Malformed = "bad timestamp"
	}
	return rec
}

func (g *Generator) hexID(n int) string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexdigits[g.rng.IntN(16)]
	}
	return string(b)
}

// String describes a record for logs.
func (r Record) String() string {
	if r.Malformed != "" {
		return fmt.Sprintf("%s (malformed: %s)", r.Value, r.Malformed)
	}
	return string(r.Value)
}
