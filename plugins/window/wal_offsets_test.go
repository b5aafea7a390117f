package window

import (
	"math/rand/v2"
	"testing"
)

// TestOffsetSetMatchesAMap inserts offsets in random order, with repeats
// and gaps, and compares every membership answer with a plain map.
func TestOffsetSetMatchesAMap(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		var s offsetSet
		ref := map[int64]bool{}
		span := int64(5 + rng.IntN(300))
		for range 1 + rng.IntN(400) {
			off := rng.Int64N(span)
			s.add(off)
			ref[off] = true
		}
		for off := int64(-2); off < span+2; off++ {
			if s.has(off) != ref[off] {
				t.Fatalf("seed %d: has(%d) = %v, want %v (ranges %v)", seed, off, s.has(off), ref[off], s.r)
			}
		}
		for i := 1; i < len(s.r); i++ {
			if s.r[i].lo <= s.r[i-1].hi+1 {
				t.Fatalf("seed %d: ranges overlap or touch: %v", seed, s.r)
			}
		}
		// The ranges survive an encode/decode round trip.
		w := &wal{positions: map[partitionKey]*offsetSet{{"t", 1}: &s}}
		enc := encodePositions(nil, w.positions)
		back := &wal{positions: map[partitionKey]*offsetSet{}}
		if err := decodePositions(enc[1:], back); err != nil {
			t.Fatal(err)
		}
		got := back.positions[partitionKey{"t", 1}]
		if len(s.r) > 0 && (got == nil || len(got.r) != len(s.r)) {
			t.Fatalf("seed %d: round trip %v, want %v", seed, got, s.r)
		}
	}
}

// TestOffsetSetForgetsOldestGapsFirst: past maxOffsetRanges the oldest
// ranges go, so only a very old redelivery could be counted twice.
func TestOffsetSetForgetsOldestGapsFirst(t *testing.T) {
	var s offsetSet
	for i := range int64(maxOffsetRanges + 10) {
		s.add(2 * i) // every other offset: one range each
	}
	if len(s.r) != maxOffsetRanges {
		t.Fatalf("%d ranges, want the cap %d", len(s.r), maxOffsetRanges)
	}
	if s.has(0) || !s.has(2*(maxOffsetRanges+9)) || !s.has(20) {
		t.Fatalf("kept the wrong end: first range %v", s.r[0])
	}
}
