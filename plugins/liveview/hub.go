package liveview

import (
	"encoding/json"
	"sort"
	"sync"
)

// hub keeps the last few windows' results for pages that connect later
// (backfill) and hands every result to every connected page (broadcast).
type hub struct {
	keepWindows  int
	keepSessions int
	sendBuffer   int

	mu       sync.Mutex
	windows  map[string]map[string]result // window_start -> user_id -> best result
	sessions [][]byte                     // newest last
	pages    map[*page]struct{}
	onPages  func(n int)
}

type result struct {
	raw    []byte
	events int64
}

// page is one connected browser tab: results queue in send; a page that
// cannot keep up is cut off (it reconnects and gets the backfill) instead of
// holding up the others.
type page struct {
	send chan []byte
	gone chan struct{}
	once sync.Once
}

func (p *page) close() { p.once.Do(func() { close(p.gone) }) }

func newHub(keepWindows, keepSessions, sendBuffer int, onPages func(int)) *hub {
	return &hub{keepWindows: keepWindows, keepSessions: keepSessions, sendBuffer: sendBuffer,
		windows: map[string]map[string]result{}, pages: map[*page]struct{}{}, onPages: onPages}
}

// shape is what the hub reads of a result.
type shape struct {
	Window      string `json:"window"`
	WindowStart string `json:"window_start"`
	UserID      any    `json:"user_id"`
	Events      int64  `json:"events"`
}

// publish keeps the results for the backfill and sends them, as one JSON
// array, to every page. Values that are not JSON objects are skipped.
func (h *hub) publish(values [][]byte) {
	var keep [][]byte
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range values {
		var s shape
		if json.Unmarshal(v, &s) != nil {
			continue
		}
		keep = append(keep, v)
		switch {
		case s.Window == "user_session":
			h.sessions = append(h.sessions, v)
			if len(h.sessions) > h.keepSessions {
				h.sessions = h.sessions[len(h.sessions)-h.keepSessions:]
			}
		case s.WindowStart != "":
			h.keepResult(s, v)
		}
	}
	if len(keep) == 0 {
		return
	}
	msg := jsonArray(keep)
	for p := range h.pages {
		select {
		case p.send <- msg:
		default:
			h.dropLocked(p)
		}
	}
}

// keepResult stores a window result; the results of a window arrive at
// least once, so the one with the most events per user is kept, as the page
// does.
func (h *hub) keepResult(s shape, v []byte) {
	w := h.windows[s.WindowStart]
	if w == nil {
		w = map[string]result{}
		h.windows[s.WindowStart] = w
		if len(h.windows) > h.keepWindows {
			starts := make([]string, 0, len(h.windows))
			for k := range h.windows {
				starts = append(starts, k)
			}
			sort.Strings(starts)
			for _, k := range starts[:len(starts)-h.keepWindows] {
				delete(h.windows, k)
			}
		}
	}
	user, _ := json.Marshal(s.UserID)
	if prev, ok := w[string(user)]; !ok || s.Events >= prev.events {
		w[string(user)] = result{raw: v, events: s.Events}
	}
}

// join registers a page and queues the backfill for it first, so it sees the
// last windows at once and every live result after them.
func (h *hub) join() *page {
	p := &page{send: make(chan []byte, h.sendBuffer), gone: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	var back [][]byte
	starts := make([]string, 0, len(h.windows))
	for k := range h.windows {
		starts = append(starts, k)
	}
	sort.Strings(starts)
	for _, k := range starts {
		for _, r := range h.windows[k] {
			back = append(back, r.raw)
		}
	}
	back = append(back, h.sessions...)
	if len(back) > 0 {
		p.send <- jsonArray(back)
	}
	h.pages[p] = struct{}{}
	h.onPages(len(h.pages))
	return p
}

// leave unregisters a page whose connection ended.
func (h *hub) leave(p *page) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(p)
}

func (h *hub) dropLocked(p *page) {
	if _, ok := h.pages[p]; !ok {
		return
	}
	delete(h.pages, p)
	p.close()
	h.onPages(len(h.pages))
}

func (h *hub) pageCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pages)
}

func jsonArray(values [][]byte) []byte {
	n := 2
	for _, v := range values {
		n += len(v) + 1
	}
	out := make([]byte, 0, n)
	out = append(out, '[')
	for i, v := range values {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, v...)
	}
	return append(out, ']')
}

// closeAll lets every page go (at shutdown).
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for p := range h.pages {
		h.dropLocked(p)
	}
}
