package dlq

import (
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func fullEnvelope() Envelope {
	return Envelope{Error: "boom", Class: "retries_exhausted", Component: "enrich", Topic: "clicks",
		Partition: 3, Offset: 1 << 40, TimestampMs: 1719503023315, ConsumerGroup: "g", Attempts: 5,
		FirstFailureMs: 1719503023000, LastFailureMs: 1719503099000, Pipeline: "p", OriginalSize: Unknown}
}

func toMap(hs []Header) map[string][]byte {
	m := map[string][]byte{}
	for _, h := range hs {
		m[h.Key] = h.Value
	}
	return m
}

func TestEncodeDecodeRoundTripEveryDialect(t *testing.T) {
	for _, d := range []Dialect{Native, KafkaConnect, Spring} {
		e := fullEnvelope()
		got, gd, err := Decode(toMap(Encode(e, d)))
		if err != nil || gd != d {
			t.Fatalf("%s: %v %s", d, err, gd)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("%s:\n got  %+v\n want %+v", d, got, e)
		}
	}
}

func TestSpringNumbersAreBigEndianBinary(t *testing.T) {
	h := toMap(Encode(fullEnvelope(), Spring))
	if got := h["kafka_dlt-original-partition"]; !reflect.DeepEqual(got, []byte{0, 0, 0, 3}) {
		t.Errorf("partition %v", got)
	}
	if got := h["kafka_dlt-original-offset"]; !reflect.DeepEqual(got, []byte{0, 0, 1, 0, 0, 0, 0, 0}) {
		t.Errorf("offset %v", got)
	}
	if got := h["retry_topic-attempts"]; !reflect.DeepEqual(got, []byte{0, 0, 0, 5}) {
		t.Errorf("attempts %v", got)
	}
	h["kafka_dlt-original-offset"] = []byte{1, 2, 3}
	if _, _, err := Decode(h); err == nil || !strings.Contains(err.Error(), "3 bytes") {
		t.Errorf("malformed binary number accepted: %v", err)
	}
}

func TestDecodeWithoutEnvelope(t *testing.T) {
	if _, d, err := Decode(map[string][]byte{"trace": []byte("x")}); d != "" || err != nil {
		t.Fatalf("dialect %q err %v", d, err)
	}
	r := Replayer{MaxReplays: 3}.Decide(Record{Value: []byte("x")})
	if r.Outcome != Refused || !strings.Contains(r.Err.Error(), "no dead-letter envelope") {
		t.Fatalf("%+v", r)
	}
}

func TestFitKeepsRecordUnderLimit(t *testing.T) {
	e := fullEnvelope()
	e.Error = strings.Repeat("é", 5000) // 10000 bytes, multi-byte runes
	e.ValidationErrors = strings.Repeat("v", 3000)
	rec := Record{Key: []byte("k"), Value: []byte(strings.Repeat("x", 2000)), Headers: []Header{{"trace", []byte("t")}, {HError, []byte("stale")}}}
	out, cut := Fit(rec, &e, Native, 4000)
	if !cut || Size(out) > 4000 {
		t.Fatalf("size %d cut %v", Size(out), cut)
	}
	h := toMap(out.Headers)
	if string(out.Value) != string(rec.Value) {
		t.Error("payload cut although shrinking the error was enough")
	}
	if _, ok := h[HValidationErrors]; ok {
		t.Error("validation errors should be dropped first")
	}
	if msg := string(h[HError]); !utf8.ValidString(msg) || !strings.HasSuffix(msg, "…") || len(msg) < 256 {
		t.Errorf("error text %d bytes valid=%v", len(msg), utf8.ValidString(msg))
	}
	if string(h["trace"]) != "t" || strings.Contains(string(h[HError]), "stale") {
		t.Error("original header lost or stale envelope kept")
	}

	e = fullEnvelope()
	big := Record{Value: make([]byte, 2<<20)} // the corpus' > 1 MB payload
	out, _ = Fit(big, &e, Spring, 1000000)
	if Size(out) > 1000000 || string(toMap(out.Headers)[HOriginalSize]) != "2097152" {
		t.Fatalf("oversized payload: size %d headers %v", Size(out), toMap(out.Headers)[HOriginalSize])
	}
}

func TestReplayDecisions(t *testing.T) {
	e := fullEnvelope()
	rec := func(extra ...Header) Record {
		return Record{Key: []byte("k1"), Value: []byte("v"), TimestampMs: 1,
			Headers: append(append([]Header{{"trace", []byte("t")}}, Encode(e, Native)...), extra...)}
	}
	at := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	cases := []struct {
		name string
		r    Replayer
		rec  Record
		want Outcome
	}{
		{"all", Replayer{MaxReplays: 3}, rec(), Replayable},
		{"class match", Replayer{Filter: Filter{Classes: []string{"late", "RETRIES_EXHAUSTED"}}, MaxReplays: 3}, rec(), Replayable},
		{"class miss", Replayer{Filter: Filter{Classes: []string{"validation"}}, MaxReplays: 3}, rec(), Skip},
		{"text", Replayer{Filter: Filter{ErrorContains: "BOO"}, MaxReplays: 3}, rec(), Replayable},
		{"text miss", Replayer{Filter: Filter{ErrorContains: "timeout"}, MaxReplays: 3}, rec(), Skip},
		{"since", Replayer{Filter: Filter{Since: at("2024-06-27T15:44:59Z")}, MaxReplays: 3}, rec(), Replayable},
		{"since miss", Replayer{Filter: Filter{Since: at("2024-06-27T15:45:00Z")}, MaxReplays: 3}, rec(), Skip},
		{"until miss", Replayer{Filter: Filter{Until: at("2024-06-27T15:44:59Z")}, MaxReplays: 3}, rec(), Skip},
		{"key miss", Replayer{Filter: Filter{Key: []byte("k2")}, MaxReplays: 3}, rec(), Skip},
		{"count below max", Replayer{MaxReplays: 3}, rec(Header{HReplayCount, []byte("2")}), Replayable},
		{"count at max", Replayer{MaxReplays: 3}, rec(Header{HReplayCount, []byte("3")}), Refused},
		{"bad count", Replayer{MaxReplays: 3}, rec(Header{HReplayCount, []byte("x")}), Refused},
	}
	for _, c := range cases {
		d := c.r.Decide(c.rec)
		if d.Outcome != c.want {
			t.Errorf("%s: outcome %v (%v), want %v", c.name, d.Outcome, d.Err, c.want)
		}
	}
	d := Replayer{MaxReplays: 3, To: "retry"}.Decide(rec(Header{HReplayCount, []byte("2")}))
	want := []Header{{"trace", []byte("t")}, {HReplayCount, []byte("3")}}
	if d.Topic != "retry" || !reflect.DeepEqual(d.Headers, want) {
		t.Fatalf("topic %s headers %v", d.Topic, d.Headers)
	}
}
