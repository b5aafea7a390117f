package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func createTopics(addr string, topics []string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopics(ctx, 3, 1, nil, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return resp.Error()
}

// verify reads the target's topic and checks every event answered 200 is
// there exactly once.
func verify(addr string, t *target) (string, error) {
	want := map[string]int{}
	for _, r := range t.results {
		for _, id := range r.ok {
			want[id] = 0
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(t.topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return "", err
	}
	defer cl.Close()
	// Ends when every 200 was seen and a quiet second passed, or at the
	// deadline (then something is missing).
	deadline := time.Now().Add(60 * time.Second)
	seen, total := 0, 0
	quietUntil := time.Time{}
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(bg, time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		got := 0
		fs.EachRecord(func(r *kgo.Record) {
			got++
			total++
			var e struct {
				Metadata struct {
					ItemID string `json:"item_id"`
				} `json:"metadata"`
			}
			if json.Unmarshal(r.Value, &e) != nil {
				return
			}
			if c, ok := want[e.Metadata.ItemID]; ok {
				if c == 0 {
					seen++
				}
				want[e.Metadata.ItemID] = c + 1
			}
		})
		if seen == len(want) {
			if quietUntil.IsZero() {
				quietUntil = time.Now().Add(time.Second)
			} else if got == 0 && time.Now().After(quietUntil) {
				break
			}
		}
	}
	var dup int
	for _, c := range want {
		if c > 1 {
			dup++
		}
	}
	if missing := len(want) - seen; missing > 0 || dup > 0 {
		return fmt.Sprintf("NO: %d of %d missing, %d duplicated", missing, len(want), dup), nil
	}
	return fmt.Sprintf("yes (%d of %d records)", len(want), total), nil
}
