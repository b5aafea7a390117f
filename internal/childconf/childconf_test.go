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
