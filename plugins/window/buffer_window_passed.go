package window

import "github.com/redpanda-data/benthos/v4/public/service"

// A window_kafka partition's pass-through messages (events that failed
// validation, late events, events no window takes) go to the output as
// soon as their batch is windowed, but the input commits only past windows
// that are written, so a restart replays batches whose pass-through was
// already written: without more, every late event and dead letter since the
// oldest open window (30 min sessions: half an hour of them) would be
// written again. So the partition records how far its pass-through is
// written (passedTo: a contiguous prefix of its batches), the commit
// metadata carries it, and a replay drops the pass-through messages below
// it. Late events and validation failures are deterministic, so the replay
// drops exactly what was written.

// passBatch is a source batch whose pass-through messages are not all
// written yet.
type passBatch struct {
	last    int64 // the batch's last offset
	pending int   // pass-through items of the batch not written yet
}

// dropPassedLocked removes from pass the messages of offsets below
// passedTo (written before a restart) and returns the rest and how many it
// dropped.
func (ps *partState) dropPassedLocked(pass service.MessageBatch) (service.MessageBatch, int64) {
	if ps.passedTo <= 0 || len(pass) == 0 {
		return pass, 0
	}
	kept := pass[:0]
	var dropped int64
	for _, m := range pass {
		if off := originOffset(m, true); off >= 0 && off < ps.passedTo {
			dropped++
			continue
		}
		kept = append(kept, m)
	}
	return kept, dropped
}

// trackPassLocked registers the source batch ending at last with items
// pass-through items to write, and returns its record.
func (ps *partState) trackPassLocked(last int64, items int) *passBatch {
	pb := &passBatch{last: last, pending: items}
	ps.passFIFO = append(ps.passFIFO, pb)
	ps.advancePassedLocked()
	return pb
}

// passWrittenLocked records that one pass-through item of pb was written.
func (ps *partState) passWrittenLocked(pb *passBatch) {
	pb.pending--
	ps.advancePassedLocked()
}

func (ps *partState) advancePassedLocked() {
	n := 0
	for n < len(ps.passFIFO) && ps.passFIFO[n].pending == 0 {
		ps.passedTo = max(ps.passedTo, ps.passFIFO[n].last+1)
		n++
	}
	if n > 0 {
		clear(ps.passFIFO[:n])
		ps.passFIFO = ps.passFIFO[n:]
	}
}
