package childconf

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func node(t *testing.T, s string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err != nil {
		t.Fatal(err)
	}
	return &n
}

func asMap(t *testing.T, n *yaml.Node) map[string]any {
	t.Helper()
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestFillSetsOnlyWhatTheChildLeavesOut(t *testing.T) {
	n := node(t, "label: x\nredpanda:\n  topic: t\n  key: mine\n")
	ok, err := Fill(n, map[string]any{"key": "${! @key }", "metadata": map[string]any{"include_patterns": []string{"^[^@]"}}})
	if err != nil || !ok {
		t.Fatalf("Fill = %v, %v", ok, err)
	}
	got := asMap(t, n)["redpanda"].(map[string]any)
	want := map[string]any{"topic": "t", "key": "mine", "metadata": map[string]any{"include_patterns": []any{"^[^@]"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestFillLeavesOtherOutputsAlone(t *testing.T) {
	n := node(t, "drop: {}\n")
	ok, err := Fill(n, map[string]any{"key": "k"})
	if err != nil || ok {
		t.Fatalf("Fill on drop = %v, %v; want false", ok, err)
	}
	if got := asMap(t, n); !reflect.DeepEqual(got, map[string]any{"drop": map[string]any{}}) {
		t.Errorf("drop changed: %v", got)
	}
}

// A field default reaches the plugin as a map; it is completed in place.
func TestFillCompletesADefaultMapInPlace(t *testing.T) {
	m := map[string]any{"redpanda": map[string]any{"topic": "${! @retry_topic }"}}
	if ok, err := Fill(m, map[string]any{"key": "k"}); err != nil || !ok {
		t.Fatalf("Fill = %v, %v", ok, err)
	}
	if got := m["redpanda"].(map[string]any)["key"]; got != "k" {
		t.Errorf("key = %v, want k", got)
	}
}

func TestInheritGivesNestedKafkaOutputsTheConnection(t *testing.T) {
	main := node(t, "redpanda:\n  seed_brokers: [ b1:9092 ]\n  tls: { enabled: true }\n  topic: out\n")
	conn, err := Connection(main)
	if err != nil || len(conn) != 2 {
		t.Fatalf("Connection = %v, %v; want seed_brokers and tls", conn, err)
	}
	dlq := node(t, `
dead_letter:
  output:
    switch:
      cases:
        - output: { redpanda: { topic: a } }
        - output: { redpanda: { topic: b, seed_brokers: [ other:9092 ] } }
`)
	n, err := Inherit(dlq, conn)
	if err != nil || n != 1 {
		t.Fatalf("Inherit = %d, %v; want 1 output completed", n, err)
	}
	cases := asMap(t, dlq)["dead_letter"].(map[string]any)["output"].(map[string]any)["switch"].(map[string]any)["cases"].([]any)
	a := cases[0].(map[string]any)["output"].(map[string]any)["redpanda"].(map[string]any)
	if !reflect.DeepEqual(a["seed_brokers"], []any{"b1:9092"}) || a["tls"] == nil {
		t.Errorf("case 0 did not inherit the connection: %v", a)
	}
	b := cases[1].(map[string]any)["output"].(map[string]any)["redpanda"].(map[string]any)
	if !reflect.DeepEqual(b["seed_brokers"], []any{"other:9092"}) || b["tls"] != nil {
		t.Errorf("case 1 has its own brokers and must keep them alone: %v", b)
	}
	if missing, _ := MissingBrokers(dlq); len(missing) != 0 {
		t.Errorf("MissingBrokers after Inherit = %v", missing)
	}
}

func TestMissingBrokersNamesTheOutputs(t *testing.T) {
	missing, err := MissingBrokers(node(t, "kafka_franz: { topic: a }\n"))
	if err != nil || strings.Join(missing, ",") != "kafka_franz" {
		t.Errorf("MissingBrokers = %v, %v", missing, err)
	}
}

// A main output that is a switch of Kafka outputs lends the first one's
// connection.
func TestConnectionOfASwitchIsItsFirstKafkaOutput(t *testing.T) {
	conn, err := Connection(node(t, `
switch:
  cases:
    - check: '@alert'
      output: { drop: {} }
    - output: { redpanda: { seed_brokers: [ b2:9092 ], topic: stats } }
    - output: { redpanda: { seed_brokers: [ b3:9092 ], topic: other } }
`))
	if err != nil || conn["seed_brokers"] == nil || conn["seed_brokers"].Content[0].Value != "b2:9092" {
		t.Fatalf("Connection = %v, %v; want the first Kafka output's brokers", conn, err)
	}
	if conn, _ := Connection(node(t, "drop: {}\n")); conn != nil {
		t.Errorf("Connection of drop = %v, want none", conn)
	}
}

// FillAll sets fields that belong together only when the child sets none.
func TestFillAllSetsAGroupOnlyWhenNoneIsSet(t *testing.T) {
	group := map[string]any{"partitioner": "manual", "partition": "${! @p }"}
	n := node(t, "redpanda:\n  topic: t\n")
	if ok, err := FillAll(n, group); err != nil || !ok {
		t.Fatalf("FillAll on a child without the group: %v, %v", ok, err)
	}
	if b := asMap(t, n)["redpanda"].(map[string]any); b["partitioner"] != "manual" || b["partition"] != "${! @p }" {
		t.Fatalf("filled %v", b)
	}
	m := node(t, "redpanda:\n  topic: t\n  partitioner: round_robin\n")
	if ok, err := FillAll(m, group); err != nil || ok {
		t.Fatalf("FillAll on a child with a partitioner: %v, %v; want nothing filled", ok, err)
	}
	o := node(t, "drop: {}\n")
	if ok, err := FillAll(o, group); err != nil || ok {
		t.Fatalf("FillAll on a non-Kafka child: %v, %v", ok, err)
	}
}

// The main output may write its brokers as a YAML alias of the input's
// (`seed_brokers: *brokers`): a child gets a copy of the list itself, and
// no second definition of the anchor.
func TestInheritResolvesAnAlias(t *testing.T) {
	doc := node(t, `
input: { seed_brokers: &brokers [ b1:9092, b2:9092 ] }
output: { redpanda: { seed_brokers: *brokers, topic: out } }
dlq: { redpanda: { topic: d } }
`)
	root := doc.Content[0]
	conn, err := Connection(lookup(root, "output"))
	if err != nil || conn["seed_brokers"] == nil {
		t.Fatalf("Connection = %v, %v", conn, err)
	}
	dlq := lookup(root, "dlq")
	if n, err := Inherit(dlq, conn); err != nil || n != 1 {
		t.Fatalf("Inherit = %d, %v", n, err)
	}
	got := lookup(lookup(dlq, "redpanda"), "seed_brokers")
	if got.Kind != yaml.SequenceNode || got.Anchor != "" || len(got.Content) != 2 || got.Content[1].Value != "b2:9092" {
		t.Fatalf("inherited seed_brokers: kind %v anchor %q %v, want a plain copy of [ b1:9092, b2:9092 ]", got.Kind, got.Anchor, asMap(t, dlq))
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(out), "&brokers"); n != 1 {
		t.Errorf("the anchor is defined %d times after Inherit:\n%s", n, out)
	}
}

// A child that sets its own security but no brokers would take the lent
// brokers with other security, silently: an error naming what to do.
func TestInheritRefusesHalfAConnection(t *testing.T) {
	conn, _ := Connection(node(t, "redpanda: { seed_brokers: [ b1:9092 ], topic: out }\n"))
	for _, child := range []string{
		"redpanda: { topic: d, tls: { enabled: true } }\n",
		"dead_letter: { output: { kafka_franz: { topic: d, sasl: [ { mechanism: PLAIN } ] } } }\n",
	} {
		_, err := Inherit(node(t, child), conn)
		if err == nil || !strings.Contains(err.Error(), "sets tls or sasl but no seed_brokers") {
			t.Errorf("Inherit(%q) = %v, want the half connection named", child, err)
		}
	}
	// Its own client_id is no other cluster: allowed.
	n := node(t, "redpanda: { topic: d, client_id: dlq-writer }\n")
	if c, err := Inherit(n, conn); err != nil || c != 1 {
		t.Errorf("Inherit with a client_id = %d, %v; want the connection lent", c, err)
	}
	if b := asMap(t, n)["redpanda"].(map[string]any); b["client_id"] != "dlq-writer" || b["seed_brokers"] == nil {
		t.Errorf("child %v, want the lent brokers and its own client_id", b)
	}
}
