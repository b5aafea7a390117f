package childconf

import (
	"fmt"
	"strings"
)

// lintMaps find, in a child output config, the Kafka outputs (as dotted
// paths ending in redpanda or kafka_franz, nested ones included) and those
// of them without seed_brokers or with half a connection of their own
// (tls or sasl but no seed_brokers).
const lintMaps = `
map childconf_kafka {
  root = this.collapse(include_empty: true).keys().map_each(k -> k.re_find_all_submatch("^((?:[^.]+\\.)*?(?:redpanda|kafka_franz))(?:\\.|$)")).filter(m -> m.length() > 0).map_each(m -> m.index(0).index(1)).unique()
}
map childconf_no_brokers {
  let keys = this.collapse(include_empty: true).keys()
  root = this.apply("childconf_kafka").filter(p -> !$keys.any(k -> k.has_prefix(p + ".seed_brokers")))
}
map childconf_half {
  let keys = this.collapse(include_empty: true).keys()
  root = this.apply("childconf_no_brokers").filter(p -> $keys.any(k -> k.has_prefix(p + ".tls") || k.has_prefix(p + ".sasl")))
}
`

// BrokersLintRule is a Bloblang lint rule (appending to the errors of a
// rule before it, if any) for a component whose Kafka children take the
// connection of the child at field lender (Inherit). `pipeline lint` then
// fails, naming the field, where the constructor would:
//   - a child holds a Kafka output without seed_brokers and lender holds no
//     Kafka output with seed_brokers to lend them;
//   - a Kafka output without seed_brokers sets tls or sasl (HalfConnection).
//
// Lint rules see the children's defaults (retry_router's default retry
// child) as if written.
func BrokersLintRule(lender string, children ...string) string {
	quoted := make([]string, len(children))
	for i, c := range children {
		quoted[i] = fmt.Sprintf("%q", c)
	}
	return lintMaps + fmt.Sprintf(`
let childconf_lender = this.get(%[1]q).or({})
let childconf_lends = $childconf_lender.apply("childconf_kafka").length() > $childconf_lender.apply("childconf_no_brokers").length()
let childconf_fields = [ %[2]s ]
root = root.or([]).merge(if $childconf_lends { [] } else {
  $childconf_fields.filter(f -> this.get(f) != null).map_each(f -> this.get(f).apply("childconf_no_brokers").map_each(p -> "field %%s: a %%s output without seed_brokers, and %[1]s has none to lend".format(f, p.split(".").index(-1)))).flatten()
}).merge($childconf_fields.filter(f -> this.get(f) != null).map_each(f -> this.get(f).apply("childconf_half").map_each(p -> "field %%s: %%s".format(f, %[3]q.format(p.split(".").index(-1))))).flatten())
`, lender, strings.Join(quoted, ", "), halfConnection)
}

// halfConnection says what is wrong with a Kafka child that sets tls or
// sasl but not seed_brokers (%s: its type): taking the lender's brokers
// with its own security would mix two connections without saying so.
const halfConnection = "a %s output sets tls or sasl but no seed_brokers: name its brokers too (its own cluster), or leave tls and sasl out (the lent connection, whole)"
