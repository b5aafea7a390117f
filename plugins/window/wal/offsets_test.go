package wal

import (
	"math/rand/v2"
	"testing"
)

// TestOffsetSetMatchesAMap inserts offsets in random order, with repeats
// and gaps, and compares every membership answer with a plain map.
func TestOffsetSetMatchesAMap(t *testing.T) {
	for seed := uint64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 1))
		var s OffsetSet
		ref := map[int64]bool{}
		span := int64(5 + rng.IntN(300))
		for range 1 + rng.IntN(400) {
			off := rng.Int64N(span)
			s.Add(off)
			ref[off] = true
		}
		for off := int64(-2); off < span+2; off++ {
			if s.Has(off) != ref[off] {
				t.Fatalf("seed %d: has(%d) = %v, want %v (ranges %v)", seed, off, s.Has(off), ref[off], s.r)
			}
		}
		for i := 1; i < len(s.r); i++ {
			if s.r[i].lo <= s.r[i-1].hi+1 {
				t.Fatalf("seed %d: ranges overlap or touch: %v", seed, s.r)
			}
		}
		// The ranges survive an encode/decode round trip.
		w := &Log{positions: map[partitionKey]*OffsetSet{{"t", 1}: &s}}
		enc := encodePositions(nil, w.positions)
		back := &Log{positions: map[partitionKey]*OffsetSet{}}
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
	var s OffsetSet
	for i := range int64(maxOffsetRanges + 10) {
		s.Add(2 * i) // every other offset: one range each
	}
	if len(s.r) != maxOffsetRanges {
		t.Fatalf("%d ranges, want the cap %d", len(s.r), maxOffsetRanges)
	}
	if s.Has(0) || !s.Has(2*(maxOffsetRanges+9)) || !s.Has(20) {
		t.Fatalf("kept the wrong end: first range %v", s.r[0])
	}
}

func TestOffsetSetDropBelow(t *testing.T) {
	var s OffsetSet
	for _, o := range []int64{1, 2, 3, 7, 8, 12} {
		s.Add(o)
	}
	s.DropBelow(3)
	for o, want := range map[int64]bool{1: false, 2: false, 3: true, 7: true, 8: true, 12: true} {
		if s.Has(o) != want {
			t.Fatalf("after dropBelow(3): has(%d) = %v, want %v", o, !want, want)
		}
	}
	s.DropBelow(9)
	if s.Has(8) || !s.Has(12) || len(s.r) != 1 {
		t.Fatalf("after dropBelow(9): ranges %v, want [12,12]", s.r)
	}
}
