// Package profileservice is a small HTTP user-profile service with
// injectable failures. Tests and the binary's demo mode call it from an
// `http` processor to exercise retries: `GET /profiles/{user_id}` returns a
// profile derived deterministically from the id, or 503 when a failure is
// injected.
package profileservice

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Options configures failure injection. The zero value never fails.
type Options struct {
	// FailFirstN makes the first N requests for each user id fail with
	// 503; request N+1 succeeds. Deterministic, for tests.
	FailFirstN int
	// FailFirst, when set, overrides FailFirstN per id: the first
	// FailFirst(id) requests for id fail with 503. It must be
	// deterministic and safe for concurrent use.
	FailFirst func(id string) int
	// FailRate is the fraction (0..1) of the remaining requests that fail
	// with 503. The choice is a hash of Seed, the id and the request's
	// number for that id, so a run is reproducible.
	FailRate float64
	Seed     uint64
	// AlwaysFail, when set, names ids whose every request fails with 503:
	// a dependency that is down for some users, so a retry ladder is climbed
	// to its end (the demo's users without a profile).
	AlwaysFail func(id string) bool
}

// Profile is the JSON body of a successful response.
type Profile struct {
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Segment     string `json:"segment"`
	Country     string `json:"country"`
	Age         int    `json:"age"`
	SignupDate  string `json:"signup_date"`
	LoyaltyTier string `json:"loyalty_tier"`
}

// Service is the handler; it also counts requests per id for assertions.
type Service struct {
	opts Options
	mux  *http.ServeMux

	mu    sync.Mutex
	calls map[string]int
	times map[string][]time.Time
}

// New returns the service as an http.Handler.
func New(opts Options) *Service {
	s := &Service{opts: opts, mux: http.NewServeMux(), calls: map[string]int{}, times: map[string][]time.Time{}}
	s.mux.HandleFunc("GET /profiles/{user_id}", s.getProfile)
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	return s
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Calls returns how many requests were made for id.
func (s *Service) Calls(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[id]
}

// CallTimes returns when each request for id arrived.
func (s *Service) CallTimes(id string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.times[id]...)
}

func (s *Service) getProfile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("user_id")
	s.mu.Lock()
	s.calls[id]++
	n := s.calls[id]
	s.times[id] = append(s.times[id], time.Now())
	s.mu.Unlock()

	if s.fails(id, n) {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "profile store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ProfileFor(id))
}

// fails decides whether the n-th (1-based) request for id fails.
func (s *Service) fails(id string, n int) bool {
	if s.opts.AlwaysFail != nil && s.opts.AlwaysFail(id) {
		return true
	}
	failFirst := s.opts.FailFirstN
	if s.opts.FailFirst != nil {
		failFirst = s.opts.FailFirst(id)
	}
	if n <= failFirst {
		return true
	}
	if s.opts.FailRate <= 0 {
		return false
	}
	h := fnv.New64a()
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], s.opts.Seed)
	binary.LittleEndian.PutUint64(buf[8:], uint64(n))
	h.Write(buf[:])
	h.Write([]byte(id))
	// FNV alone is far from uniform on short inputs; a splitmix64
	// finaliser spreads it so the observed rate matches FailRate.
	return float64(mix64(h.Sum64()))/math.MaxUint64 < s.opts.FailRate
}

func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Radia", "Linus"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson", "Perlman", "Torvalds"}
	segments   = []string{"consumer", "smb", "enterprise", "student"}
	countries  = []string{"US", "GB", "DE", "FR", "NL", "SE", "JP", "BR", "IN", "AU"}
	tiers      = []string{"none", "bronze", "silver", "gold"}
)

// ProfileFor derives a profile from the id alone, so every instance and
// every run agrees on it.
func ProfileFor(id string) Profile {
	h := fnv.New64a()
	h.Write([]byte(id))
	x := h.Sum64()
	pick := func(list []string) string {
		v := list[x%uint64(len(list))]
		x /= uint64(len(list))
		return v
	}
	first, last := pick(firstNames), pick(lastNames)
	p := Profile{
		UserID:      id,
		Name:        first + " " + last,
		Segment:     pick(segments),
		Country:     pick(countries),
		LoyaltyTier: pick(tiers),
	}
	p.Age = 18 + int(x%60)
	x /= 60
	p.SignupDate = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(x%3650)).Format(time.DateOnly)
	return p
}

// Start serves a new Service on addr (":0" for a free port) and returns its
// base URL, the service (for call counts) and a stop function.
func Start(addr string, opts Options) (url string, svc *Service, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, nil, err
	}
	svc = New(opts)
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // Serve only fails here if the listener breaks; stop still works.
		}
	}()
	stop = func() {
		_ = srv.Close()
		<-done
	}
	return "http://" + hostPort(ln.Addr()), svc, stop, nil
}

func hostPort(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port))
	}
	return a.String()
}
