package dlq

import (
	"context"

	"github.com/streamkit/pipeline/internal/meta"

	"github.com/redpanda-data/benthos/v4/public/service"
)

func init() {
	service.MustRegisterProcessor("dlq_keep_raw", service.NewConfigSpec().
		Categories("Utility").
		Summary("Stashes the payload as read so `dead_letter` writes the original bytes even if later processors transform the message.").
		Description("Put it first in the pipeline. The stash is metadata `@dlq_raw` (bytes, not written as a header by the documented child config). It costs a reference to the original bytes per message, not a copy."),
		func(*service.ParsedConfig, *service.Resources) (service.Processor, error) { return keepRaw{}, nil })
}

type keepRaw struct{}

func (keepRaw) Process(_ context.Context, m *service.Message) (service.MessageBatch, error) {
	b, err := m.AsBytes()
	if err != nil {
		return nil, err
	}
	m.MetaSetMut(meta.StashRaw, b)
	return service.MessageBatch{m}, nil
}

func (keepRaw) Close(context.Context) error { return nil }
