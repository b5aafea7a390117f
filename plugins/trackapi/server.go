package trackapi

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/streamkit/pipeline/plugins/validate"
)

// maxKeyLen bounds Idempotency-Key values, which are kept in memory.
const maxKeyLen = 255

// server answers POST <path>: every answer is JSON, and tells the truth
// about the write:
//
//	200  every event is in Kafka (the broker acknowledged it)
//	422  invalid input; nothing written
//	503  nothing written (broker not ready, or it refused the records)
//	504  the broker has not answered in time: maybe written; a retry with the
//	     returned Idempotency-Key writes only what is not
//	500  some events of an array written, the others certainly not; a retry
//	     with the key writes the others
type server struct {
	path      string
	maxBytes  int64
	timeout   time.Duration
	format    string
	parser    *parser
	writer    *writer
	keys      *keyStore
	count     func(status int)
	keyHeader bool // record the Idempotency-Key as a Kafka header
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/ready":
		s.ready(w, r)
		return
	case r.URL.Path != s.path:
		s.answer(w, http.StatusNotFound, detail("Not Found"))
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		s.answer(w, http.StatusMethodNotAllowed, detail("Method Not Allowed"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.answer(w, http.StatusRequestEntityTooLarge, detail(fmt.Sprintf(
				"request body is more than the limit of %d bytes; nothing was written", s.maxBytes)))
			return
		}
		s.answer(w, http.StatusBadRequest, detail("reading the request body: "+err.Error()))
		return
	}
	req, vs := s.parser.parse(body)
	if len(vs) > 0 {
		s.invalid(w, vs)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxKeyLen {
		s.invalid(w, validate.Violations{{Path: "$", Rule: "idempotency_key",
			Message: fmt.Sprintf("Idempotency-Key header is %d bytes, more than %d", len(key), maxKeyLen)}})
		return
	}
	a := newAttempt(s.records(req, key), s.okBody(req), sha256.Sum256(body))
	replay := false
	if key != "" {
		stored, fresh := s.keys.getOrPut(key, a)
		if !fresh && stored.hash != a.hash {
			s.answer(w, http.StatusConflict, detail("Idempotency-Key "+strconv.Quote(key)+
				" was used before with a different body; nothing was written"))
			return
		}
		a = stored
		n, _, _, _, _ := a.tally()
		replay = !fresh && n == len(a.recs)
	}
	if !s.writer.isReady() {
		if replay {
			s.ok(w, a, true)
			return
		}
		s.answer(w, http.StatusServiceUnavailable, map[string]any{"written": false,
			"detail": "event stream unavailable, nothing was written (" + s.writer.notReadyReason() + "); retry later"})
		return
	}
	s.wait(w, r, a, key, replay, a.send(s.writer))
}

// wait answers once every record of a has its outcome, or the timeout.
func (s *server) wait(w http.ResponseWriter, r *http.Request, a *attempt, key string, replay bool, settled <-chan struct{}) {
	t := time.NewTimer(s.timeout)
	defer t.Stop()
	select {
	case <-settled:
	case <-t.C:
	case <-r.Context().Done():
	}
	nWritten, nFailed, nPending, writtenIdx, lastErr := a.tally()
	switch {
	case nWritten == len(a.recs):
		s.ok(w, a, replay)
	case nWritten == 0 && nPending == 0:
		s.answer(w, http.StatusServiceUnavailable, map[string]any{"written": false,
			"detail": "event stream unavailable, nothing was written (" + errText(lastErr) + "); retry later"})
	case nPending > 0:
		key = s.remember(key, a)
		w.Header().Set("Idempotency-Key", key)
		s.answer(w, http.StatusGatewayTimeout, map[string]any{"idempotency_key": key,
			"detail": fmt.Sprintf("the broker has not confirmed %d of %d events within %v: they may or may not be written. "+
				"Retry with the header Idempotency-Key: %s and nothing is written twice", nPending, len(a.recs), s.timeout, key)})
	default:
		key = s.remember(key, a)
		w.Header().Set("Idempotency-Key", key)
		s.answer(w, http.StatusInternalServerError, map[string]any{"idempotency_key": key, "written": writtenIdx,
			"detail": fmt.Sprintf("%d of %d events were written (their indexes are in \"written\"), %d certainly not (%s). "+
				"Retry with the header Idempotency-Key: %s and only those are written", nWritten, len(a.recs), nFailed, errText(lastErr), key)})
	}
}

// remember stores an attempt whose outcome the client has to settle with a
// retry, under a new key when it came without one.
func (s *server) remember(key string, a *attempt) string {
	if key != "" {
		return key
	}
	for {
		k := newKey()
		if _, fresh := s.keys.getOrPut(k, a); fresh {
			return k
		}
	}
}

func (s *server) ok(w http.ResponseWriter, a *attempt, replayed bool) {
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.body)
	s.count(http.StatusOK)
}

func (s *server) invalid(w http.ResponseWriter, vs validate.Violations) {
	if s.format == formatFastAPI {
		s.answer(w, http.StatusUnprocessableEntity, map[string]any{"detail": toFastAPI(vs)})
		return
	}
	s.answer(w, http.StatusUnprocessableEntity, map[string]any{"detail": vs})
}

func (s *server) ready(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		s.answer(w, http.StatusMethodNotAllowed, detail("Method Not Allowed"))
		return
	}
	if s.writer.isReady() {
		s.answer(w, http.StatusOK, map[string]any{"ready": true})
		return
	}
	s.answer(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "detail": s.writer.notReadyReason()})
}

func (s *server) answer(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"detail":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	s.count(status)
}

func (s *server) records(req request, key string) []*kgo.Record {
	recs := make([]*kgo.Record, len(req.events))
	for i, e := range req.events {
		recs[i] = &kgo.Record{Value: e.value}
		if e.key != "" {
			recs[i].Key = []byte(e.key)
		}
		if key != "" && s.keyHeader {
			recs[i].Headers = []kgo.RecordHeader{{Key: "idempotency_key", Value: []byte(key)}}
		}
	}
	return recs
}

// okBody is the seed app's answer: {"message", "user_data": {"user_id"}}, a
// list of them for an array.
func (s *server) okBody(req request) []byte {
	type user struct {
		UserID string `json:"user_id"`
	}
	var data any
	if req.array {
		users := make([]user, len(req.events))
		for i, e := range req.events {
			users[i] = user{e.key}
		}
		data = users
	} else if len(req.events) == 1 {
		data = user{req.events[0].key}
	}
	b, _ := json.Marshal(map[string]any{"message": "User data submitted successfully!", "user_data": data})
	return b
}

func detail(msg string) map[string]any { return map[string]any{"detail": msg} }

func errText(err error) string {
	if err == nil {
		return "no error recorded"
	}
	return err.Error()
}
