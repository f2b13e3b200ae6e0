package stripeoverlay

import (
	"context"
	"encoding/json"
	"math"
	"sync"
	"testing"
	"time"
)

// emitN emits n events straight into the delivery machinery (no upstream) and returns
// the sequence numbers in the order one subscriber got them.
func emitN(t *testing.T, cfg Config, n int) (*Overlay, []int) {
	t.Helper()
	cfg.Upstream = "http://127.0.0.1:1" // never contacted
	cfg.Mode = ModeNone
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	var (
		mu  sync.Mutex
		got []int
	)
	o.Subscribe(func(_ context.Context, payload []byte, _ string) error {
		var ev struct {
			Data struct {
				Object struct {
					Seq int `json:"seq"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return err
		}
		mu.Lock()
		got = append(got, ev.Data.Object.Seq)
		mu.Unlock()
		return nil
	})
	for i := range n {
		o.emit("customer.updated", map[string]any{"id": "cus_x", "object": "customer", "seq": i}, nil, time.Now(), eventRequest{})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := o.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	return o, append([]int(nil), got...)
}

// shares measures the duplicate and reorder shares of a delivery order of events 0..n-1.
func shares(t *testing.T, order []int, n int) (dup, reordered float64) {
	t.Helper()
	first := make([]int, n)
	for i := range first {
		first[i] = -1
	}
	dups := 0
	for pos, s := range order {
		if first[s] >= 0 {
			dups++
			continue
		}
		first[s] = pos
	}
	re := 0
	for s := 0; s < n-1; s++ {
		if first[s] < 0 || first[s+1] < 0 {
			t.Fatalf("event %d or %d never delivered", s, s+1)
		}
		if first[s] > first[s+1] {
			re++
		}
	}
	return float64(dups) / float64(n), float64(re) / float64(n)
}

// TestDeliveryShares checks the scheduler alone over many events, where the statistical
// tolerance can be tight: with n = 10000, a Bernoulli(p ≤ 0.3) share has σ ≤ 0.0046,
// and the tolerance is 0.015 (over 3σ).
func TestDeliveryShares(t *testing.T) {
	const n = 10000
	for _, tc := range []struct{ dup, reorder float64 }{{0.05, 0.2}, {0.3, 0.05}, {0, 0.5}} {
		o, order := emitN(t, Config{Seed: 11, Webhook: WebhookConfig{Duplicates: tc.dup, Reorder: tc.reorder}}, n)
		dup, re := shares(t, order, n)
		st := o.Stats()
		t.Logf("dup %.2f reorder %.2f: measured %.4f, %.4f; stats %+v", tc.dup, tc.reorder, dup, re, st)
		if math.Abs(dup-tc.dup) > 0.015 || math.Abs(re-tc.reorder) > 0.015 {
			t.Errorf("dup %.2f reorder %.2f: measured %.4f, %.4f", tc.dup, tc.reorder, dup, re)
		}
		if st.EventsDuplicated != uint64(math.Round(dup*n)) || st.EventsReordered != uint64(math.Round(re*n)) || st.EventsDelivered != uint64(len(order)) {
			t.Errorf("counters %+v disagree with the order seen", st)
		}
	}
}

func TestHeldEventWithoutSuccessor(t *testing.T) {
	// Reorder 0.5 holds every event that finds none held; a lone event waits MaxHold,
	// then goes in order and is not counted as reordered.
	start := time.Now()
	o, order := emitN(t, Config{Webhook: WebhookConfig{Reorder: 0.5, MaxHold: 50 * time.Millisecond}}, 1)
	if len(order) != 1 || time.Since(start) < 50*time.Millisecond {
		t.Errorf("lone held event: delivered %v after %v, want once after MaxHold", order, time.Since(start))
	}
	if st := o.Stats(); st.EventsReordered != 0 || st.EventsDelivered != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxPendingDrops(t *testing.T) {
	o, err := New(Config{Upstream: "http://127.0.0.1:1", Mode: ModeNone, Webhook: WebhookConfig{Delay: time.Hour, MaxPending: 2}})
	if err != nil {
		t.Fatal(err)
	}
	o.Subscribe(func(context.Context, []byte, string) error { return nil })
	for i := range 5 {
		o.emit("product.updated", map[string]any{"id": "prod_x", "seq": i}, nil, time.Now(), eventRequest{})
	}
	if st := o.Stats(); st.EventsDropped != 3 {
		t.Errorf("dropped %d of 5 with MaxPending 2, want 3", st.EventsDropped)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := o.Stats(); st.EventsDropped != 5 || st.EventsEmitted != 5 {
		t.Errorf("after Close: %+v, want all 5 dropped", st)
	}
}
