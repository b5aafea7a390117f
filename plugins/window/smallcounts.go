package window

import "sort"

// smallCountsMax is how many entries smallCounts keeps in slices before it
// moves them to a map.
const smallCountsMax = 8

// smallCounts maps strings to counts for count_distinct and count_by. Most
// (window, key) states see a handful of distinct values (a user's pages in
// 10 s, five event types), and with sparse keys a state is created for
// almost every event: the first few entries live in two slices searched
// linearly, which costs less than creating and hashing into a map.
type smallCounts struct {
	keys []string
	vals []int64
	m    map[string]int64 // every entry, once there are more than smallCountsMax
}

func (c *smallCounts) len() int {
	if c.m != nil {
		return len(c.m)
	}
	return len(c.keys)
}

// incIfPresent adds n to k's count if k is present, without copying k.
func (c *smallCounts) incIfPresent(k []byte, n int64) bool {
	if c.m != nil {
		if _, ok := c.m[string(k)]; ok {
			c.m[string(k)] += n
			return true
		}
		return false
	}
	for i, x := range c.keys {
		if x == string(k) {
			c.vals[i] += n
			return true
		}
	}
	return false
}

func (c *smallCounts) has(k string) bool {
	if c.m != nil {
		_, ok := c.m[k]
		return ok
	}
	for _, x := range c.keys {
		if x == k {
			return true
		}
	}
	return false
}

// add adds n to k's count, inserting k if absent.
func (c *smallCounts) add(k string, n int64) {
	if c.m != nil {
		c.m[k] += n
		return
	}
	for i, x := range c.keys {
		if x == k {
			c.vals[i] += n
			return
		}
	}
	if len(c.keys) < smallCountsMax {
		c.keys = append(c.keys, k)
		c.vals = append(c.vals, n)
		return
	}
	c.m = make(map[string]int64, 2*smallCountsMax)
	for i, x := range c.keys {
		c.m[x] = c.vals[i]
	}
	c.m[k] += n
	clear(c.keys)
	c.keys, c.vals = c.keys[:0], c.vals[:0]
}

func (c *smallCounts) get(k string) int64 {
	if c.m != nil {
		return c.m[k]
	}
	for i, x := range c.keys {
		if x == k {
			return c.vals[i]
		}
	}
	return 0
}

// each calls fn for every entry, in no particular order.
func (c *smallCounts) each(fn func(k string, n int64)) {
	if c.m != nil {
		for k, n := range c.m {
			fn(k, n)
		}
		return
	}
	for i, k := range c.keys {
		fn(k, c.vals[i])
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
	clear(c.keys)
	c.keys, c.vals = c.keys[:0], c.vals[:0]
	clear(c.m)
}
