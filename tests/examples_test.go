package tests

import (
	"fmt"
	"testing"
	"time"

	"github.com/streamkit/pipeline/tests/harness"
)

// The jobs in configs/examples run through the built binary against a
// broker, over a fixed event set on one partition (so the arrival order,
// and with it the watermark, is fixed); every output record is asserted:
// key (the window id) and value. A 1 s idle_timeout closes the last windows.

func TestExampleTopUsersCountsPerUserPer30Minutes(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "top_users", "top_users-late", "top_users-dlq")
	b := time.Date(2024, 6, 27, 15, 30, 0, 0, time.UTC)
	at := func(m int) time.Time { return b.Add(time.Duration(m) * time.Minute) }
	harness.Produce(t, addr, "clickstream",
		harness.KV("u1", event("u1", "page_view", at(1))),
		harness.KV("u2", event("u2", "click", at(10))),
		harness.KV("u1", event("u1", "click", at(29))),
		harness.KV("u1", event("u1", "purchase", at(30))),
		harness.KV("u2", event("u2", "click", at(20))), // 10 min out of order: [0,30) closes at 31
		harness.KV("u3", event("u3", "scroll", at(45))),
	)
	runExample(t, "top_users", addr, "1s")

	row := func(u string, from, n int) string {
		s, e := at(from).Format(time.RFC3339), at(from+30).Format(time.RFC3339)
		return fmt.Sprintf(`%s|%s|%s => {"user_id":%q,"window_start":%q,"window_end":%q,"count":%d}`, u, s, e, u, s, e, n)
	}
	assertTopic(t, addr, "top_users", []string{
		row("u1", 0, 2), row("u2", 0, 2), row("u1", 30, 1), row("u3", 30, 1),
	}, 20*time.Second)
	if late := harness.Consume(t, addr, "top_users-late", 1, time.Second); len(late) != 0 {
		t.Fatalf("an event within the lateness went to top_users-late: %s", late[0].Value)
	}
}

func TestExamplePageViewsCountsOnlyViewsPerPage(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "page_views", "page_views-late", "page_views-dlq")
	b := time.Date(2024, 6, 27, 15, 43, 0, 0, time.UTC)
	at := func(s int) time.Time { return b.Add(time.Duration(s) * time.Second) }
	harness.Produce(t, addr, "clickstream",
		harness.KV("u1", clickEvent("u1", "view", "/search", at(1))),
		harness.KV("u2", clickEvent("u2", "view", "/search", at(20))),
		harness.KV("u1", clickEvent("u1", "click", "/search", at(30))),
		harness.KV("u2", clickEvent("u2", "view", "/item", at(40))),
		harness.KV("u1", clickEvent("u1", "add_to_cart", "/item", at(41))),
		harness.KV("u1", clickEvent("u1", "view", "/search", at(65))),
		harness.KV("u2", clickEvent("u2", "buy", "/cart", at(75))),
		harness.KV("u3", clickEvent("u3", "view", "/item", at(55))), // 10 s out of order: [0,60) closes at 70
	)
	runExample(t, "page_views", addr, "1s")

	row := func(page string, from, n int) string {
		s, e := at(from).Format(time.RFC3339), at(from+60).Format(time.RFC3339)
		return fmt.Sprintf(`%s|%s|%s => {"page":%q,"window_start":%q,"window_end":%q,"views":%d}`, page, s, e, page, s, e, n)
	}
	assertTopic(t, addr, "page_views", []string{
		row("/search", 0, 2), row("/item", 0, 2), row("/search", 60, 1),
	}, 20*time.Second)
	for _, topic := range []string{"page_views-late", "page_views-dlq"} {
		if got := harness.Consume(t, addr, topic, 1, time.Second); len(got) != 0 {
			t.Fatalf("filtered or valid event went to %s: %s", topic, got[0].Value)
		}
	}
}

func TestExampleSessionsMergeAndClose(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "sessions", "sessions-late", "sessions-dlq")
	b := time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return b.Add(d) }
	harness.Produce(t, addr, "clickstream",
		harness.KV("u1", clickEvent("u1", "view", "/home", at(0))),
		harness.KV("u2", clickEvent("u2", "view", "/search", at(5*time.Minute))),
		// 30m30s after /home: a second u1 session; the first closes only at
		// watermark 31m (gap 30m + lateness 1m), so it is still open...
		harness.KV("u1", clickEvent("u1", "view", "/search", at(30*time.Minute+30*time.Second))),
		// ...when this event, out of order, bridges the two: one session.
		harness.KV("u1", clickEvent("u1", "click", "/item", at(15*time.Minute))),
		// Two hours later: a new session; the watermark closes the others.
		harness.KV("u1", clickEvent("u1", "view", "/cart", at(2*time.Hour))),
		// Its session [0, 30m) closed at watermark 2h: late.
		harness.KV("u3", clickEvent("u3", "view", "/late", at(20*time.Minute))),
	)
	runExample(t, "sessions", addr, "1s")

	rfc := func(d time.Duration) string { return at(d).Format(time.RFC3339) }
	assertTopic(t, addr, "sessions", []string{
		"u1|" + rfc(0) + "|" + rfc(60*time.Minute+30*time.Second) + ` => {"user_id":"u1","start":"` + rfc(0) + `","end":"` + rfc(30*time.Minute+30*time.Second) + `","duration":1830,"pages":["/home","/item","/search"],"events":3}`,
		"u2|" + rfc(5*time.Minute) + "|" + rfc(35*time.Minute) + ` => {"user_id":"u2","start":"` + rfc(5*time.Minute) + `","end":"` + rfc(5*time.Minute) + `","duration":0,"pages":["/search"],"events":1}`,
		"u1|" + rfc(2*time.Hour) + "|" + rfc(150*time.Minute) + ` => {"user_id":"u1","start":"` + rfc(2*time.Hour) + `","end":"` + rfc(2*time.Hour) + `","duration":0,"pages":["/cart"],"events":1}`,
	}, 20*time.Second)

	late := harness.ConsumeExactly(t, addr, "sessions-late", 1, 10*time.Second)[0]
	if string(late.Key) != "u3" || harness.Header(late, "window_late") != "true" || harness.Header(late, "window_name") != "sessions" {
		t.Fatalf("late record %s => %s headers %v, want u3's event marked window_late by sessions", late.Key, late.Value, late.Headers)
	}
}
