package dlq

import (
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// primed starts child outputs once. An OwnedOutput that was never primed
// blocks in Close until the shutdown deadline, and priming at Connect also
// surfaces a broken child before the first failed message needs it.
type primed struct {
	once sync.Once
	err  error
}

func (p *primed) prime(outs ...*service.OwnedOutput) error {
	p.once.Do(func() {
		for _, o := range outs {
			if p.err = o.Prime(); p.err != nil {
				return
			}
		}
	})
	return p.err
}
