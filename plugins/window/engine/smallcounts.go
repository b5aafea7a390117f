package engine

import "sort"

// smallCountsMax is how many entries smallCounts keeps inline before it
// moves them to a map.
const smallCountsMax = 4

// smallCounts maps strings to counts for count_distinct and count_by. Most
// (window, key) states see a handful of distinct values (a user's pages in
// 10 s, five event types), and with sparse keys a state is created for
// almost every event: the first few entries live inline and are searched
// linearly, one allocation in all, where a map costs more to create and to
// hash into. Accumulators hold a pointer, nil until the first value, so a
// state without these aggregates pays 8 bytes for it. A nil *smallCounts
// is empty.
type smallCounts struct {
	n    int
	keys [smallCountsMax]string
	vals [smallCountsMax]int64
	m    map[string]int64 // every entry, once there are more than smallCountsMax
}

func (c *smallCounts) len() int {
	switch {
	case c == nil:
		return 0
	case c.m != nil:
		return len(c.m)
	}
	return c.n
}

// incIfPresent adds n to k's count if k is present, without copying k.
func (c *smallCounts) incIfPresent(k []byte, n int64) bool {
	switch {
	case c == nil:
		return false
	case c.m != nil:
		if _, ok := c.m[string(k)]; ok {
			c.m[string(k)] += n
			return true
		}
		return false
	}
	for i := 0; i < c.n; i++ {
		if c.keys[i] == string(k) {
			c.vals[i] += n
			return true
		}
	}
	return false
}

func (c *smallCounts) has(k string) bool {
	switch {
	case c == nil:
		return false
	case c.m != nil:
		_, ok := c.m[k]
		return ok
	}
	for i := 0; i < c.n; i++ {
		if c.keys[i] == k {
			return true
		}
	}
	return false
}

// addTo adds n to k's count in *cp, inserting k (and creating *cp) if absent.
func addTo(cp **smallCounts, k string, n int64) {
	c := *cp
	if c == nil {
		c = &smallCounts{}
		*cp = c
	}
	if c.m != nil {
		c.m[k] += n
		return
	}
	for i := 0; i < c.n; i++ {
		if c.keys[i] == k {
			c.vals[i] += n
			return
		}
	}
	if c.n < smallCountsMax {
		c.keys[c.n], c.vals[c.n] = k, n
		c.n++
		return
	}
	c.m = make(map[string]int64, 2*smallCountsMax)
	for i := 0; i < c.n; i++ {
		c.m[c.keys[i]] = c.vals[i]
	}
	c.m[k] += n
	c.keys, c.n = [smallCountsMax]string{}, 0
}

func (c *smallCounts) get(k string) int64 {
	switch {
	case c == nil:
		return 0
	case c.m != nil:
		return c.m[k]
	}
	for i := 0; i < c.n; i++ {
		if c.keys[i] == k {
			return c.vals[i]
		}
	}
	return 0
}

// each calls fn for every entry, in no particular order.
func (c *smallCounts) each(fn func(k string, n int64)) {
	switch {
	case c == nil:
		return
	case c.m != nil:
		for k, n := range c.m {
			fn(k, n)
		}
		return
	}
	for i := 0; i < c.n; i++ {
		fn(c.keys[i], c.vals[i])
	}
}

func (c *smallCounts) sortedKeys() []string {
	ks := make([]string, 0, c.len())
	c.each(func(k string, _ int64) { ks = append(ks, k) })
	sort.Strings(ks)
	return ks
}

// reset empties c, keeping its storage for reuse.
func (c *smallCounts) reset() {
	if c == nil {
		return
	}
	c.keys, c.n = [smallCountsMax]string{}, 0
	clear(c.m)
}
