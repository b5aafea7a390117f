package profileservice

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, h http.Handler, path string) (*httptest.ResponseRecorder, Profile) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var p Profile
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("bad json %q: %v", rec.Body.String(), err)
		}
	}
	return rec, p
}

func TestProfileDeterministic(t *testing.T) {
	h := New(Options{})
	_, a := get(t, h, "/profiles/u42")
	_, b := get(t, New(Options{}), "/profiles/u42")
	if a != b || a != ProfileFor("u42") {
		t.Fatalf("profiles differ: %+v %+v", a, b)
	}
	if a.UserID != "u42" || a.Name == "" || a.Segment == "" || a.Country == "" || a.Age < 18 {
		t.Fatalf("incomplete profile %+v", a)
	}
	if ProfileFor("u43") == a {
		t.Fatalf("different ids gave the same profile")
	}
}

func TestFailFirstNPerKey(t *testing.T) {
	h := New(Options{FailFirstN: 2})
	for _, id := range []string{"a", "b"} {
		for i := 1; i <= 3; i++ {
			rec, _ := get(t, h, "/profiles/"+id)
			want := http.StatusServiceUnavailable
			if i == 3 {
				want = http.StatusOK
			}
			if rec.Code != want {
				t.Fatalf("%s request %d: status %d, want %d", id, i, rec.Code, want)
			}
		}
		if h.Calls(id) != 3 {
			t.Fatalf("calls(%s) = %d", id, h.Calls(id))
		}
	}
}

func TestFailFirstPerID(t *testing.T) {
	h := New(Options{FailFirstN: 5, FailFirst: func(id string) int { return len(id) }})
	for _, id := range []string{"a", "bb", "ccc"} {
		for i := 1; i <= len(id)+1; i++ {
			rec, _ := get(t, h, "/profiles/"+id)
			want := http.StatusServiceUnavailable
			if i == len(id)+1 {
				want = http.StatusOK
			}
			if rec.Code != want {
				t.Fatalf("%s request %d: status %d, want %d", id, i, rec.Code, want)
			}
		}
	}
}

func TestFailRateReproducible(t *testing.T) {
	run := func() (fails int, pattern string) {
		h := New(Options{FailRate: 0.3, Seed: 7})
		for i := range 1000 {
			rec, _ := get(t, h, fmt.Sprintf("/profiles/u%d", i%50))
			if rec.Code == http.StatusServiceUnavailable {
				fails++
				pattern += "x"
			} else {
				pattern += "."
			}
		}
		return
	}
	f1, p1 := run()
	f2, p2 := run()
	if p1 != p2 {
		t.Fatalf("same seed gave different failures")
	}
	if f1 < 220 || f1 > 380 || f1 != f2 {
		t.Fatalf("fail count %d for rate 0.3 of 1000", f1)
	}
}

func TestStartServes(t *testing.T) {
	url, svc, stop, err := Start("127.0.0.1:0", Options{FailFirstN: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	codes := []int{}
	for range 2 {
		resp, err := http.Get(url + "/profiles/x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.StatusCode)
	}
	if codes[0] != 503 || codes[1] != 200 || svc.Calls("x") != 2 {
		t.Fatalf("codes %v calls %d", codes, svc.Calls("x"))
	}
	resp, err := http.Post(url+"/profiles/x", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
}

func TestAlwaysFailNamesIDsThatNeverGetAProfile(t *testing.T) {
	h := New(Options{AlwaysFail: func(id string) bool { return id == "doomed" }})
	for i := 0; i < 10; i++ {
		if rec, _ := get(t, h, "/profiles/doomed"); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("request %d for doomed: %d, want 503", i, rec.Code)
		}
	}
	if rec, _ := get(t, h, "/profiles/lucky"); rec.Code != http.StatusOK {
		t.Fatalf("lucky: %d, want 200", rec.Code)
	}
}
