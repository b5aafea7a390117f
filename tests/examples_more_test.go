package tests

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/streamkit/pipeline/internal/kafkatest"
	"github.com/streamkit/pipeline/tests/harness"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The seed jobs added to configs/examples (seed001_consumer, iot_telemetry,
// ga4_sessions) run through the built binary against a broker over a fixed
// event set on one partition; every output record is asserted (key and
// value), and every dead letter with its original bytes and envelope.

// assertExampleDeadLetters reads exactly len(want) records of a dead_letter topic:
// want maps each original value to a substring of its dlq_error header.
// Every record keeps the bytes as produced and carries the envelope of a
// validation failure of the original topic.
func assertExampleDeadLetters(t *testing.T, addr, topic, origTopic string, want map[string]string) {
	t.Helper()
	recs := harness.ConsumeExactly(t, addr, topic, len(want), 10*time.Second)
	for _, r := range recs {
		reason, ok := want[string(r.Value)]
		if !ok {
			t.Errorf("%s: unexpected dead letter %s (error %q)", topic, r.Value, harness.Header(r, "dlq_error"))
			continue
		}
		delete(want, string(r.Value))
		if e := harness.Header(r, "dlq_error"); !strings.Contains(e, reason) {
			t.Errorf("%s: dead letter %s has dlq_error %q, want it to mention %q", topic, r.Value, e, reason)
		}
		for k, v := range map[string]string{"dlq_error_class": "validation", "dlq_original_topic": origTopic} {
			if got := harness.Header(r, k); got != v {
				t.Errorf("%s: dead letter %s has %s %q, want %q", topic, r.Value, k, got, v)
			}
		}
		if harness.Header(r, "dlq_original_offset") == "" {
			t.Errorf("%s: dead letter %s has no dlq_original_offset", topic, r.Value)
		}
	}
	for v := range want {
		t.Errorf("%s: no dead letter for %s", topic, v)
	}
}

// waitGroupCommitted waits until group committed n offsets of topic in total.
func waitGroupCommitted(t *testing.T, addr, group, topic string, n int64, deadline time.Duration) {
	t.Helper()
	var got int64
	if !kafkatest.Every(deadline, 200*time.Millisecond, func() bool {
		got = harness.CommittedOffsets(t, addr, group, topic)
		return got == n
	}) {
		t.Fatalf("group %s committed %d offsets of %s, want %d", group, got, topic, n)
	}
}

func seed001Event(ts, user, page, action, extra string) string {
	return fmt.Sprintf(`{"timestamp":%q,"userid":%q,"page":%q,"action":%q%s}`, ts, user, page, action, extra)
}

// TestExampleSeed001ConsumerHandlesEachAction runs seed001_consumer.yaml:
// views are logged and acked, valid ratings are stored in `ratings`, other
// actions are acked, and every event that cannot be handled is
// dead-lettered with its original bytes. All 8 offsets are committed.
func TestExampleSeed001ConsumerHandlesEachAction(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "clickstream", "ratings", "clickstream-processor-dlq")
	badRating := seed001Event("2022-01-01T12:23:00", "user456", "/product9", "rating", `,"rating":7`)
	noUser := `{"timestamp":"2022-01-01T12:24:00","page":"/product9","action":"view"}`
	harness.Produce(t, addr, "clickstream",
		harness.KV("", seed001Event("2022-01-01T12:22:25", "user123", "/product123", "view", "")),
		harness.KV("", seed001Event("2022-01-01T12:22:40", "user123", "/product123", "rating", `,"rating":4`)),
		harness.KV("", badRating),
		harness.KV("", seed001Event("2022-01-01T12:23:10", "user456", "/product9", "click", "")),
		harness.KV("", noUser),
		harness.KV("", `not json`),
		harness.KV("", seed001Event("2022-01-01T12:25:00.250", "user456", "/product9", "rating", `,"rating":5,"comment":"great"`)),
		harness.KV("", seed001Event("2022-01-01T12:26:00", "user789", "/product9", "view", "")),
	)
	p := runExample(t, "seed001_consumer", addr, "1s")

	assertTopic(t, addr, "ratings", []string{
		`user123 => {"timestamp":"2022-01-01T12:22:40Z","userid":"user123","page":"/product123","action":"rating","rating":4}`,
		// Unknown fields (the comment) are stripped from the stored row.
		`user456 => {"timestamp":"2022-01-01T12:25:00.25Z","userid":"user456","page":"/product9","action":"rating","rating":5}`,
	}, 20*time.Second)
	assertExampleDeadLetters(t, addr, "clickstream-processor-dlq", "clickstream", map[string]string{
		badRating:  "rating",
		noUser:     "userid: required",
		`not json`: "",
	})
	waitGroupCommitted(t, addr, "clickstream-processor", "clickstream", 8, 20*time.Second)

	// The two views, logged with their user and page; nothing else is.
	// (Pipeline threads may log them in either order.)
	field := func(line, k string) string {
		m := regexp.MustCompile(k + `=(\S+)`).FindStringSubmatch(line)
		if m == nil {
			return ""
		}
		return m[1]
	}
	var views []string
	for _, line := range regexp.MustCompile(`msg="User viewed product page".*`).FindAllString(p.Output(), -1) {
		views = append(views, field(line, "userid")+" "+field(line, "page"))
	}
	sort.Strings(views)
	if got, want := strings.Join(views, ", "), "user123 /product123, user789 /product9"; got != want {
		t.Fatalf("view log lines (userid page): %s, want %s", got, want)
	}
}

func iotReading(device string, ts time.Time, temperature, pressure float64) string {
	return fmt.Sprintf(`{"device_id":%q,"timestamp":%q,"temperature":%v,"pressure":%v}`, device, ts.Format(time.RFC3339), temperature, pressure)
}

// TestExampleIoTTelemetryStatsAlertsAndOutliers runs iot_telemetry.yaml:
// 1 minute avg/min/max per device, an alert per reading over a threshold,
// outliers and broken readings dead-lettered (kept out of the averages),
// and a reading behind its closed window routed to the late topic.
func TestExampleIoTTelemetryStatsAlertsAndOutliers(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "iot-telemetry", "device_stats", "device_alerts", "device_stats-late", "device_stats-dlq")
	b := time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return b.Add(time.Duration(s) * time.Second) }
	outlier := iotReading("d1", at(30), 200, 101) // above the sensor range: not in d1's max
	noPressure := `{"device_id":"d2","timestamp":"2024-06-27T15:00:35Z","temperature":30}`
	late := iotReading("d3", at(55), 20, 100)
	harness.Produce(t, addr, "iot-telemetry",
		harness.KV("d1", iotReading("d1", at(0), 20, 100)),
		harness.KV("d2", iotReading("d2", at(10), 30, 310)), // pressure alert
		harness.KV("d1", iotReading("d1", at(20), 22, 102)),
		harness.KV("d1", outlier),
		harness.KV("d2", noPressure),
		harness.KV("d1", iotReading("d1", at(40), 85, 101)), // temperature alert
		harness.KV("d2", iotReading("d2", at(50), 31.5, 200)),
		harness.KV("d1", iotReading("d1", at(65), 21, 100)),
		harness.KV("d2", iotReading("d2", at(75), 95, 350)), // both alerts; watermark 75 s closes [0,60)
		harness.KV("d3", late),                              // 20 s behind: late
		harness.KV("d9", `not json`),
	)
	runExample(t, "iot_telemetry", addr, "1s")

	stats := func(dev string, from, n int, tavg, tmin, tmax, pavg, pmin, pmax float64) string {
		s, e := at(from).Format(time.RFC3339), at(from+60).Format(time.RFC3339)
		return fmt.Sprintf(`%s|%s|%s => {"device_id":%q,"window_start":%q,"window_end":%q,"readings":%d,"temperature":{"avg":%v,"min":%v,"max":%v},"pressure":{"avg":%v,"min":%v,"max":%v}}`,
			dev, s, e, dev, s, e, n, tavg, tmin, tmax, pavg, pmin, pmax)
	}
	assertTopic(t, addr, "device_stats", []string{
		stats("d1", 0, 3, 42.33, 20, 85, 101, 100, 102),
		stats("d2", 0, 2, 30.75, 30, 31.5, 255, 200, 310),
		stats("d1", 60, 1, 21, 21, 21, 100, 100, 100),
		stats("d2", 60, 1, 95, 95, 95, 350, 350, 350),
	}, 20*time.Second)

	alert := func(dev, kind, metric string, s int, v, threshold float64) string {
		return fmt.Sprintf(`%s => {"alert":%q,"device_id":%q,"timestamp":%q,"metric":%q,"value":%v,"threshold":%v}`,
			dev, kind, dev, at(s).Format(time.RFC3339), metric, v, threshold)
	}
	assertTopic(t, addr, "device_alerts", []string{
		alert("d2", "pressure_high", "pressure", 10, 310, 300),
		alert("d1", "temperature_high", "temperature", 40, 85, 80),
		alert("d2", "temperature_high", "temperature", 75, 95, 80),
		alert("d2", "pressure_high", "pressure", 75, 350, 300),
	}, 10*time.Second)

	l := harness.ConsumeExactly(t, addr, "device_stats-late", 1, 10*time.Second)[0]
	if string(l.Key) != "d3" || string(l.Value) != late || harness.Header(l, "window_late") != "true" || harness.Header(l, "window_name") != "device_1m" {
		t.Errorf("late record %s => %s headers %v, want d3's reading as read, marked window_late by device_1m", l.Key, l.Value, l.Headers)
	}
	assertExampleDeadLetters(t, addr, "device_stats-dlq", "iot-telemetry", map[string]string{
		outlier:    "temperature",
		noPressure: "pressure: required",
		`not json`: "",
	})
	waitGroupCommitted(t, addr, "iot-telemetry", "iot-telemetry", 11, 20*time.Second)
}

func ga4Event(client, name string, ts time.Time, extra string) *kgo.Record {
	return harness.KV(client, fmt.Sprintf(`{"client_id":%q,"event_name":%q,"timestamp":%q%s}`, client, name, ts.Format(time.RFC3339), extra))
}

// TestExampleGA4SessionsTimeoutEngagementAndPageViews runs
// ga4_sessions.yaml: sessions per client id end after 30 minutes without
// events; each carries GA4's session id (start in unix seconds), page
// views, summed engagement time, key events and the engaged flag, landing
// and exit pages.
func TestExampleGA4SessionsTimeoutEngagementAndPageViews(t *testing.T) {
	addr := harness.StartBroker(t)
	harness.CreateTopics(t, addr, 1, "ga4_events", "ga4_sessions", "ga4_sessions-late", "ga4_sessions-dlq")
	b := time.Date(2024, 6, 27, 15, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return b.Add(time.Duration(m) * time.Minute) }
	badName := `{"client_id":"c5","event_name":"page view","timestamp":"2024-06-27T15:39:00Z"}`
	harness.Produce(t, addr, "ga4_events",
		ga4Event("c1", "page_view", at(0), `,"page_location":"/home","engagement_time_msec":0`),
		ga4Event("c2", "page_view", at(1), `,"user_id":"u7","page_location":"/blog","engagement_time_msec":1500`),
		ga4Event("c1", "page_view", at(2), `,"page_location":"/pricing","engagement_time_msec":4000`),
		ga4Event("c2", "scroll", at(3), `,"engagement_time_msec":2000`),
		ga4Event("c1", "user_engagement", at(5), `,"engagement_time_msec":3000`),
		harness.KV("c5", badName),
		// 35 min after c1's last event: a new session. The watermark (40m)
		// closes c1's first session (end 35m + 1m lateness) and c2's.
		ga4Event("c1", "page_view", at(40), `,"page_location":"/docs"`),
		ga4Event("c3", "purchase", at(41), `,"user_id":"u9","page_location":"/checkout"`),
		// 31 min behind the watermark: late.
		ga4Event("c4", "page_view", at(10), `,"page_location":"/late"`),
		harness.KV("c6", `not json`),
	)
	runExample(t, "ga4_sessions", addr, "1s")

	session := func(client, user string, from, to, events, pv, eng, key int, engaged bool, landing, exit string) string {
		s, e := at(from), at(to)
		q := func(v string) string {
			if v == "" {
				return "null"
			}
			return fmt.Sprintf("%q", v)
		}
		return fmt.Sprintf(`%s|%s|%s => {"client_id":%q,"user_id":%s,"ga_session_id":%d,"session_start":%q,"session_end":%q,"duration_sec":%d,"events":%d,"page_views":%d,"engagement_time_msec":%d,"key_events":%d,"engaged":%v,"landing_page":%s,"exit_page":%s}`,
			client, s.Format(time.RFC3339), e.Add(30*time.Minute).Format(time.RFC3339),
			client, q(user), s.Unix(), s.Format(time.RFC3339), e.Format(time.RFC3339), int(e.Sub(s).Seconds()),
			events, pv, eng, key, engaged, q(landing), q(exit))
	}
	assertTopic(t, addr, "ga4_sessions", []string{
		// Two page views: engaged, though 7 s of engagement time.
		session("c1", "", 0, 5, 3, 2, 7000, 0, true, "/home", "/pricing"),
		// One page view and 3.5 s: not engaged; user_id from the event that had one.
		session("c2", "u7", 1, 3, 2, 1, 3500, 0, false, "/blog", "/blog"),
		session("c1", "", 40, 40, 1, 1, 0, 0, false, "/docs", "/docs"),
		// A key event: engaged; a purchase is no page view.
		session("c3", "u9", 41, 41, 1, 0, 0, 1, true, "", ""),
	}, 20*time.Second)

	l := harness.ConsumeExactly(t, addr, "ga4_sessions-late", 1, 10*time.Second)[0]
	if string(l.Key) != "c4" || !strings.Contains(string(l.Value), `"/late"`) || harness.Header(l, "window_late") != "true" || harness.Header(l, "window_name") != "ga4_sessions" {
		t.Errorf("late record %s => %s headers %v, want c4's event marked window_late by ga4_sessions", l.Key, l.Value, l.Headers)
	}
	assertExampleDeadLetters(t, addr, "ga4_sessions-dlq", "ga4_events", map[string]string{
		badName:    "event_name",
		`not json`: "",
	})
	waitGroupCommitted(t, addr, "ga4-sessions", "ga4_events", 10, 20*time.Second)
}
