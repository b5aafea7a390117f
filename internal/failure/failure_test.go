package failure

import (
	"errors"
	"testing"

	"github.com/redpanda-data/benthos/v4/public/service"
	"github.com/streamkit/pipeline/internal/meta"
)

func TestAsReadWritesTheStashedBytesAndTheError(t *testing.T) {
	for _, stash := range []any{[]byte(`{"raw":1}`), `{"raw":1}`} {
		m := service.NewMessage([]byte(`{"enriched":true}`))
		m.MetaSetMut(meta.StashRaw, stash)
		m.SetError(errors.New("too late"))
		AsRead(m)
		if b, _ := m.AsBytes(); string(b) != `{"raw":1}` {
			t.Errorf("stash %T: payload %s, want the stashed bytes", stash, b)
		}
		if v, _ := m.MetaGet(meta.TryCatchError); v != "too late" {
			t.Errorf("error metadata %q", v)
		}
	}
	m := service.NewMessage([]byte(`as is`))
	AsRead(m)
	if b, _ := m.AsBytes(); string(b) != "as is" {
		t.Errorf("without a stash the payload changed to %s", b)
	}
	if _, ok := m.MetaGet(meta.TryCatchError); ok {
		t.Error("a message without an error got error metadata")
	}
}

func TestIsLate(t *testing.T) {
	m := service.NewMessage(nil)
	if IsLate(m) {
		t.Error("no class is not late")
	}
	m.MetaSetMut(meta.ErrorClass, meta.ClassLate)
	if !IsLate(m) {
		t.Error("class late is late")
	}
}
