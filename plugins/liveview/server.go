package liveview

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

const (
	writeWait  = 10 * time.Second
	pingPeriod = 20 * time.Second
	// A page that neither answers a ping nor sends anything for this long is
	// gone (a laptop lid closed); a closed tab is noticed at once anyway.
	readWait = 2*pingPeriod + writeWait
)

// server serves the page at / and /index.html and the result stream at the
// socket path.
type server struct {
	page   []byte
	wsPath string
	hub    *hub
	up     websocket.Upgrader
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/", "/index.html":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			jsonError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(s.page)
	case s.wsPath:
		s.socket(w, r)
	default:
		jsonError(w, http.StatusNotFound, "Not Found")
	}
}

// socket runs one page's connection: a reader that notices the page going
// away (a closed tab closes the connection, and the read fails at once) and
// a writer that sends what the hub queues for it.
func (s *server) socket(w http.ResponseWriter, r *http.Request) {
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	p := s.hub.join()
	go func() {
		defer s.hub.leave(p)
		conn.SetReadLimit(4096)
		_ = conn.SetReadDeadline(time.Now().Add(readWait))
		conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(readWait)) })
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	ping := time.NewTicker(pingPeriod)
	defer func() {
		ping.Stop()
		s.hub.leave(p)
		_ = conn.Close()
	}()
	for {
		select {
		case <-p.gone:
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
			return
		case msg := <-p.send:
			_ = conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(writeWait)); err != nil {
				return
			}
		}
	}
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"detail": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
