package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// runBare is C, run as a child process of the benchmark (so its peak RSS
// is its own): decode every JSON line with encoding/json, parse the
// timestamp, count per (user, 10 s window) in a map, write the counts.
func runBare(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	type ev struct {
		UserID    string `json:"user_id"`
		Timestamp string `json:"timestamp"`
	}
	counts := map[wkey]int32{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e ev
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return err
		}
		t, err := time.Parse("2006-01-02T15:04:05.999999999", e.Timestamp)
		if err != nil {
			return err
		}
		counts[wkey{e.UserID, floorDiv(t.Unix(), 10) * 10}]++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return writeCounts(out, counts)
}

func writeCounts(path string, m map[wkey]int32) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for k, v := range m {
		fmt.Fprintf(w, "%s\t%d\t%d\n", k.user, k.start, v)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

// readCounts reads "user\tstart\tcount" lines (C and F write these).
func readCounts(path string) (map[wkey]int32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[wkey]int32{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != 3 {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		s, err1 := strconv.ParseInt(p[1], 10, 64)
		c, err2 := strconv.ParseInt(p[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		m[wkey{p[0], s}] += int32(c)
	}
	return m, sc.Err()
}
