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

// TestManualDelivery: with Webhook.Manual, events wait on the Config.Now clock for
// Deliver, which sends each when due (after Delay, a held event at the end of its
// hold), duplicates included; NextDelivery names the instant of the next one. Nothing
// is sent by the overlay itself.
func TestManualDelivery(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := &struct {
		mu sync.Mutex
		t  time.Time
	}{t: t0}
	now := func() time.Time { clk.mu.Lock(); defer clk.mu.Unlock(); return clk.t }
	set := func(t time.Time) { clk.mu.Lock(); clk.t = t; clk.mu.Unlock() }
	o, err := New(Config{Upstream: "http://127.0.0.1:1", Mode: ModeNone, Now: now,
		Webhook: WebhookConfig{Delay: time.Second, Manual: true, MaxHold: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	var got []int
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
		got = append(got, ev.Data.Object.Seq)
		return nil
	})
	emit := func(seq int) {
		o.emit("customer.updated", map[string]any{"id": "cus_x", "object": "customer", "seq": seq}, nil, now(), eventRequest{})
	}
	ctx := context.Background()
	if _, ok := o.NextDelivery(); ok {
		t.Fatal("NextDelivery with nothing pending: ok")
	}
	emit(0)
	set(t0.Add(500 * time.Millisecond))
	emit(1)
	if at, ok := o.NextDelivery(); !ok || !at.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextDelivery = %v, %v; want %v", at, ok, t0.Add(time.Second))
	}
	if n, err := o.Deliver(ctx, t0.Add(999*time.Millisecond)); n != 0 || err != nil || len(got) != 0 {
		t.Fatalf("Deliver before the delay = %d, %v (got %v); want nothing sent", n, err, got)
	}
	if n, err := o.Deliver(ctx, t0.Add(time.Second)); n != 1 || err != nil {
		t.Fatalf("Deliver at the first due time = %d, %v; want 1", n, err)
	}
	if at, _ := o.NextDelivery(); !at.Equal(t0.Add(1500 * time.Millisecond)) {
		t.Fatalf("NextDelivery = %v, want the second event's due time", at)
	}
	if n, _ := o.Deliver(ctx, t0.Add(time.Hour)); n != 1 || len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Fatalf("Deliver late = %d, got %v; want events 0 and 1 in order", n, got)
	}
	if st := o.Stats(); st.EventsDelivered != 2 {
		t.Errorf("EventsDelivered %d, want 2", st.EventsDelivered)
	}

	// Every event held (Reorder's q = 1): the first waits for the second and goes right
	// after it; the last one waits out its hold. Every event duplicated.
	o2, err := New(Config{Upstream: "http://127.0.0.1:1", Mode: ModeNone, Now: now,
		Webhook: WebhookConfig{Delay: time.Second, Manual: true, MaxHold: 5 * time.Second, Reorder: 0.5, Duplicates: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o2.Close(context.Background()) })
	var n2 int
	o2.Subscribe(func(context.Context, []byte, string) error { n2++; return nil })
	set(t0)
	o2.emit("customer.updated", map[string]any{"id": "cus_x"}, nil, now(), eventRequest{})
	if at, ok := o2.NextDelivery(); !ok || !at.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("held event: NextDelivery = %v, %v; want the end of its hold %v", at, ok, t0.Add(5*time.Second))
	}
	for i := 0; i < 10; i++ {
		at, ok := o2.NextDelivery()
		if !ok {
			break
		}
		if _, err := o2.Deliver(ctx, at); err != nil {
			t.Fatal(err)
		}
	}
	if n2 != 2 {
		t.Errorf("%d deliveries of one duplicated event, want 2", n2)
	}
	if err := o2.Drain(ctx); err != nil {
		t.Errorf("Drain with nothing pending: %v", err)
	}

	wall, err := New(Config{Upstream: "http://127.0.0.1:1", Mode: ModeNone})
	if err != nil {
		t.Fatal(err)
	}
	defer wall.Close(ctx)
	if _, err := wall.Deliver(ctx, time.Now()); err == nil {
		t.Error("Deliver without Webhook.Manual: no error")
	}
}
