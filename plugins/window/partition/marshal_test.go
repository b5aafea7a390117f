package partition

import (
	"encoding/json"
	"testing"
)

// A batch in metadata renders as a short text, not as its fields.
func TestBatchMarshalsAsItsRange(t *testing.T) {
	p := NewPartition("clicks", 2, Fresh, 100, nil)
	b := p.NewBatch(100, 4099, nil)
	got, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `"clicks/2:100-4099"` {
		t.Fatalf("batch marshals as %s, want \"clicks/2:100-4099\"", got)
	}
}
