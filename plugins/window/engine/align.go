package engine

// floorDiv divides rounding towards negative infinity, so alignment is
// correct for instants before the epoch and for negative offsets.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// alignDown returns the greatest instant <= t of the form offset + k*step.
// Windows are aligned to the UTC epoch, so a 1h window starts on the hour in
// UTC regardless of the machine's zone.
func alignDown(t, step, offset int64) int64 {
	return offset + floorDiv(t-offset, step)*step
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
