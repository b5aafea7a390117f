package engine

import "testing"

// Renamed bounds of a tumbling window, with a fractional duration field.
func TestTumblingRenamedBoundsAndDuration(t *testing.T) {
	spec := &WindowSpec{Name: "w", Kind: Tumbling, Size: dur(2.5), KeyName: "k",
		StartField: "from", EndField: "to", DurationField: "secs"}
	got := string(renderBody(spec, "a", FormatTime(at(0)), FormatTime(at(2.5)), &state{events: 1}))
	want := `{"k":"a","from":"` + FormatTime(at(0)) + `","to":"` + FormatTime(at(2.5)) + `","secs":2.5}`
	if got != want {
		t.Errorf("body\n got %s\nwant %s", got, want)
	}
}
