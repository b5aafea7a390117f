package liveview

import (
	"fmt"
	"testing"
)

func res(start, user string, events int) []byte {
	return []byte(fmt.Sprintf(`{"window":"user_10s","window_start":%q,"user_id":%q,"events":%d}`, start, user, events))
}

func TestHubBroadcastsToEveryPageAndBackfillsTheLastWindows(t *testing.T) {
	var gauge int
	h := newHub(2, 1, 8, func(n int) { gauge = n })
	h.publish([][]byte{res("t1", "a", 1), res("t2", "a", 2), res("t2", "a", 1), res("t3", "b", 3),
		[]byte(`{"window":"user_session","user_id":"s1"}`), []byte(`{"window":"user_session","user_id":"s2"}`), []byte(`not json`)})
	p1 := h.join()
	// t1 is beyond the last 2 windows; t2 keeps a's larger count; one session.
	if got, want := string(<-p1.send), `[`+string(res("t2", "a", 2))+`,`+string(res("t3", "b", 3))+`,{"window":"user_session","user_id":"s2"}]`; got != want {
		t.Fatalf("backfill\n got %s\nwant %s", got, want)
	}
	p2 := h.join()
	<-p2.send
	if gauge != 2 {
		t.Fatalf("gauge %d with two pages", gauge)
	}
	h.publish([][]byte{res("t4", "c", 4)})
	for i, p := range []*page{p1, p2} {
		if got := string(<-p.send); got != "["+string(res("t4", "c", 4))+"]" {
			t.Fatalf("page %d got %s", i, got)
		}
	}
	h.leave(p1)
	if gauge != 1 || h.pageCount() != 1 {
		t.Fatalf("after a page left: gauge %d, pages %d", gauge, h.pageCount())
	}
	select {
	case <-p1.gone:
	default:
		t.Fatal("the page that left is not told to stop")
	}
}

func TestHubDropsAPageThatCannotKeepUp(t *testing.T) {
	h := newHub(6, 0, 2, func(int) {})
	slow := h.join()
	for i := 0; i < 3; i++ { // the third does not fit: the page is cut off, not waited for
		h.publish([][]byte{res(fmt.Sprint("t", i), "a", 1)})
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("a page with a full queue was kept")
	}
	if h.pageCount() != 0 {
		t.Fatalf("%d pages left", h.pageCount())
	}
}
