package engine

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// TestSmallCountsMatchesAMap drives smallCounts from nil across its
// inline-to-map switch with random operations and compares it with a map.
func TestSmallCountsMatchesAMap(t *testing.T) {
	for seed := uint64(0); seed < 100; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		var c *smallCounts // nil is empty
		ref := map[string]int64{}
		distinct := 1 + rng.IntN(3*smallCountsMax)
		for range rng.IntN(200) {
			k := fmt.Sprintf("v%d", rng.IntN(distinct))
			n := int64(1 + rng.IntN(3))
			if rng.IntN(2) == 0 {
				if c.incIfPresent([]byte(k), n) != (ref[k] != 0) {
					t.Fatalf("seed %d: incIfPresent(%s) disagrees with the map", seed, k)
				}
				if ref[k] != 0 {
					ref[k] += n
				}
			} else {
				addTo(&c, k, n)
				ref[k] += n
			}
			if rng.IntN(50) == 0 {
				c.reset()
				clear(ref)
			}
		}
		want := make([]string, 0, len(ref))
		for k := range ref {
			want = append(want, k)
		}
		sort.Strings(want)
		if got := c.sortedKeys(); !slices.Equal(got, want) || c.len() != len(want) {
			t.Fatalf("seed %d: keys %v (len %d), want %v", seed, got, c.len(), want)
		}
		for _, k := range want {
			if c.get(k) != ref[k] || !c.has(k) {
				t.Fatalf("seed %d: %s = %d, want %d", seed, k, c.get(k), ref[k])
			}
		}
		if c.has("absent") || c.get("absent") != 0 {
			t.Fatalf("seed %d: an absent key is present", seed)
		}
	}
}
