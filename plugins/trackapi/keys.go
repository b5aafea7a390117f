package trackapi

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// keyStore remembers attempts by Idempotency-Key for ttl, at most max of
// them (the oldest go first). It lives in the API process: a restarted API
// has forgotten the keys, which the README says.
type keyStore struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu    sync.Mutex
	m     map[string]*attempt
	order []keyed // insertion order, for expiry; order[head:] are live
	head  int
}

type keyed struct {
	key string
	at  time.Time
	a   *attempt
}

func newKeyStore(ttl time.Duration, max int, now func() time.Time) *keyStore {
	return &keyStore{ttl: ttl, max: max, now: now, m: map[string]*attempt{}}
}

// getOrPut returns the attempt stored under key, or stores a and returns it
// with fresh = true.
func (s *keyStore) getOrPut(key string, a *attempt) (got *attempt, fresh bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if old, ok := s.m[key]; ok {
		return old, false
	}
	s.m[key] = a
	s.order = append(s.order, keyed{key, s.now(), a})
	return a, true
}

func (s *keyStore) expire() {
	now := s.now()
	for s.head < len(s.order) && (now.Sub(s.order[s.head].at) > s.ttl || len(s.order)-s.head >= s.max) {
		if k := s.order[s.head]; s.m[k.key] == k.a {
			delete(s.m, k.key)
		}
		s.order[s.head] = keyed{}
		s.head++
	}
	// Compact once half the slice is dead: amortised O(1) per key.
	if s.head > 1024 && s.head > len(s.order)/2 {
		s.order = append(s.order[:0], s.order[s.head:]...)
		s.head = 0
	}
}

// newKey makes a key for a request whose outcome the client must be able to
// settle with a retry although it sent none.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "auto-" + hex.EncodeToString(b[:])
}
