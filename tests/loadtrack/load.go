package main

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type result struct {
	rate     float64
	p50, p99 time.Duration
	statuses map[int]int
	ok       []string // item ids of the events answered 200
}

// load sends n requests from c clients (keep-alive connections) and times each.
func load(t *target, round, n, c, per int) result {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	var next atomic.Int64
	lat := make([]time.Duration, n)
	status := make([]int, n)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				body := eventBody(t.name, round, i, per)
				t0 := time.Now()
				resp, err := client.Post(t.url, "application/json", strings.NewReader(body))
				if err != nil {
					status[i] = -1
					lat[i] = time.Since(t0)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				status[i] = resp.StatusCode
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res := result{rate: float64(n) / elapsed.Seconds(), statuses: map[int]int{}}
	for i, s := range status {
		res.statuses[s]++
		if s == 200 {
			for j := 0; j < per; j++ {
				res.ok = append(res.ok, itemID(t.name, round, i, j))
			}
		}
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a] < sorted[b] })
	res.p50 = sorted[len(sorted)/2]
	res.p99 = sorted[len(sorted)*99/100]
	return res
}
