package window

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// A session reported as activity: start = first event, end = last event,
// duration in seconds, under the configured names; the metadata and the
// window id still name the window [first, last + gap).
func TestSessionActivityBoundsAndDuration(t *testing.T) {
	clk := &fakeClock{now: time.Date(2024, 6, 27, 18, 0, 0, 0, time.UTC)}
	b := newTestBuffer(t, `
timestamp_field: ts
startup_grace: 0s
windows:
  - name: s
    type: session
    gap: 30m
    key_field: user
    key_name: user_id
    name_field: window
    session_bounds: activity
    start_field: start
    end_field: end
    duration_field: duration
    aggregates:
      - { name: events, type: count }
`, clk)
	ctx := context.Background()
	in := batchOf(
		`{"user":"u1","ts":"2024-06-27T15:43:43.5Z"}`,
		`{"user":"u1","ts":"2024-06-27T15:50:00Z"}`,
		`{"user":"u1","ts":"2024-06-27T15:55:00.5Z"}`,
		`{"user":"u2","ts":"2024-06-27T17:00:00Z"}`, // closes u1's session
	)
	if err := b.WriteBatch(ctx, in, func(context.Context, error) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out, _ := readNow(t, b)
	if len(out) != 1 {
		t.Fatalf("got %d results, want u1's session", len(out))
	}
	body, _ := out[0].AsBytes()
	want := `{"user_id":"u1","window":"s","start":"2024-06-27T15:43:43.5Z","end":"2024-06-27T15:55:00.5Z","duration":677,"events":3}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
	for k, v := range map[string]string{
		"window_start": "2024-06-27T15:43:43.5Z",
		"window_end":   "2024-06-27T16:25:00.5Z",
		"window_id":    "u1|2024-06-27T15:43:43.5Z|2024-06-27T16:25:00.5Z",
	} {
		if got, _ := out[0].MetaGet(k); got != v {
			t.Errorf("metadata %s = %q, want %q", k, got, v)
		}
	}
}

func TestResultBoundsLintNamesTheField(t *testing.T) {
	cases := []struct{ window, want string }{
		{`{ name: a, size: 1s, session_bounds: activity }`, "field windows[0].session_bounds: only session windows"},
		{`{ name: a, size: 1s, start_field: "" }`, "field windows[0].start_field: must not be empty"},
		{`{ name: a, size: 1s, end_field: "" }`, "field windows[0].end_field: must not be empty"},
		{`{ name: a, size: 1s, start_field: n, aggregates: [ { name: n } ] }`, "field windows[0].aggregates[0].name"},
		{`{ name: a, size: 1s, duration_field: key }`, "field windows[0].duration_field"},
	}
	for _, c := range cases {
		conf := "windows: [ " + c.window + " ]"
		err := service.NewStreamBuilder().SetBufferYAML("window:\n" + indent(conf))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lint %s: err %v, want %q", conf, err, c.want)
		}
		pc, err := bufferSpec().ParseYAML(conf, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parseOptions(pc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("constructor %s: err %v, want %q", conf, err, c.want)
		}
	}
}
