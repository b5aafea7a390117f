package wal

import "sort"

// maxOffsetRanges bounds the ranges kept per partition. Gaps that never
// fill (offsets taken by transaction markers, compacted records) each cost
// a range; past the bound the lowest range is forgotten, so a redelivery
// that old would be counted again (a duplicate), never skipped (a loss).
const maxOffsetRanges = 1024

// offsetRange is an inclusive range of logged offsets.
type offsetRange struct{ lo, hi int64 }

// OffsetSet is a set of offsets of one partition (those in the log, or
// for the window buffer's partitioned state those counted or given up on),
// as sorted, disjoint, non-adjacent ranges. The zero value is empty. It is a set rather than a high
// mark because inputs that process a partition's batches concurrently
// (redpanda's unordered_processing) may hand a later batch over before an
// earlier one: the earlier one's offsets are below the high mark, yet new.
type OffsetSet struct{ r []offsetRange }

// Has reports whether off is in the set.
func (s *OffsetSet) Has(off int64) bool {
	n := len(s.r)
	if n == 0 || off > s.r[n-1].hi {
		return false // the common case: the next offset of the partition
	}
	i := sort.Search(n, func(i int) bool { return s.r[i].hi >= off })
	return i < n && s.r[i].lo <= off
}

// Add inserts off.
func (s *OffsetSet) Add(off int64) {
	n := len(s.r)
	if n > 0 && off == s.r[n-1].hi+1 {
		s.r[n-1].hi = off // in order: extend the last range
		return
	}
	if n == 0 || off > s.r[n-1].hi+1 {
		s.r = append(s.r, offsetRange{off, off})
		s.trim()
		return
	}
	i := sort.Search(n, func(i int) bool { return s.r[i].hi+1 >= off })
	if s.r[i].lo <= off && off <= s.r[i].hi {
		return
	}
	switch {
	case off == s.r[i].hi+1: // extends range i upwards
		s.r[i].hi = off
		if i+1 < n && s.r[i+1].lo == off+1 {
			s.r[i].hi = s.r[i+1].hi
			s.r = append(s.r[:i+1], s.r[i+2:]...)
		}
	case off+1 == s.r[i].lo: // extends range i downwards
		s.r[i].lo = off
	default: // a new range before range i
		s.r = append(s.r, offsetRange{})
		copy(s.r[i+1:], s.r[i:])
		s.r[i] = offsetRange{off, off}
		s.trim()
	}
}

func (s *OffsetSet) trim() {
	if len(s.r) > maxOffsetRanges {
		s.r = append(s.r[:0], s.r[len(s.r)-maxOffsetRanges:]...)
	}
}

// AddRange inserts [lo, hi] (restoring the set from the log).
func (s *OffsetSet) AddRange(lo, hi int64) {
	// Restored ranges are few; inserting offset by offset would not be.
	s.r = append(s.r, offsetRange{lo, hi})
	sort.Slice(s.r, func(i, j int) bool { return s.r[i].lo < s.r[j].lo })
	out := s.r[:1]
	for _, x := range s.r[1:] {
		last := &out[len(out)-1]
		if x.lo <= last.hi+1 {
			last.hi = max(last.hi, x.hi)
			continue
		}
		out = append(out, x)
	}
	s.r = out
	s.trim()
}

// DropBelow forgets every offset below off.
func (s *OffsetSet) DropBelow(off int64) {
	i := 0
	for i < len(s.r) && s.r[i].hi < off {
		i++
	}
	s.r = append(s.r[:0], s.r[i:]...)
	if len(s.r) > 0 && s.r[0].lo < off {
		s.r[0].lo = off
	}
}
