package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// TestShardShare checks that the shards' parts of the fleet sum to the whole, differ by
// one at most, and give the remainder to the lowest indices.
func TestShardShare(t *testing.T) {
	for _, n := range []int{0, 1, 3, 7, 10, 1000} {
		for _, count := range []int{1, 2, 3, 4, 7} {
			sum := 0
			for i := 0; i < count; i++ {
				p := Shard{Index: i, Count: count}.share(n)
				sum += p
				if p != n/count && p != n/count+1 {
					t.Fatalf("share(%d) of shard %d/%d = %d", n, i, count, p)
				}
				if i > 0 && p > (Shard{Index: i - 1, Count: count}).share(n) {
					t.Fatalf("share(%d): shard %d/%d has more than shard %d", n, i, count, i-1)
				}
			}
			if sum != n {
				t.Fatalf("shares of %d over %d shards sum to %d", n, count, sum)
			}
		}
	}
}

// TestCheckShard checks what a sharded run refuses, each with its fix named.
func TestCheckShard(t *testing.T) {
	ext := &mocks.Env{Provider: mocks.ProviderExternal}
	ok := &scenarios.Scenario{Arrival: scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 10}}
	if err := checkShard(ok, ext, Shard{Index: 1, Count: 4}); err != nil {
		t.Fatalf("an open-loop read-only run on external services: %v", err)
	}
	if err := checkShard(ok, &mocks.Env{Provider: mocks.ProviderLocal}, Shard{Index: 0, Count: 1}); err != nil {
		t.Fatalf("one shard of one on local services: %v", err)
	}
	closed := *ok
	closed.Arrival = scenarios.Arrival{Model: scenarios.ArrivalClosed, Concurrency: 2}
	small := *ok
	small.Lambda = scenarios.Lambda{Enabled: true, MaxConcurrency: 2}
	for _, tc := range []struct {
		s    *scenarios.Scenario
		env  *mocks.Env
		want string
	}{
		{ok, &mocks.Env{Provider: mocks.ProviderLocal}, "--env external"},
		{&closed, ext, "closed arrival model cannot be sharded"},
		{&small, ext, "lambda.max_concurrency 2"},
	} {
		err := checkShard(tc.s, tc.env, Shard{Index: 0, Count: 4})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
}

// TestOpenSharedStripe checks that a sharded run with updates joins the run's overlay in
// the Stripe overlay service, and refuses, naming the fix, a Stripe URL that is not one
// and what the shared overlay cannot do yet.
func TestOpenSharedStripe(t *testing.T) {
	svc, err := stripeoverlay.NewService(stripeoverlay.ServiceConfig{Upstream: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	ctx := context.Background()
	upd := &scenarios.Scenario{Arrival: scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 10}, Ops: scenarios.Ops{Get: 0.9, Update: 0.1}}
	env := func(u string) *mocks.Env {
		return &mocks.Env{Provider: mocks.ProviderExternal, Stripe: mocks.StripeEndpoint{URL: u}}
	}
	cfg := stripeoverlay.Config{Mode: "test", Seed: 3}

	if ss, err := openSharedStripe(ctx, upd, env(plain.URL), Shard{Index: 0, Count: 1}, "r1", cfg); ss != nil || err != nil {
		t.Errorf("one process: %v, %v; want no shared overlay", ss, err)
	}
	reads := *upd
	reads.Ops = scenarios.Ops{Get: 1}
	if ss, err := openSharedStripe(ctx, &reads, env(plain.URL), Shard{Index: 1, Count: 4}, "r1", cfg); ss != nil || err != nil {
		t.Errorf("a read-only shard: %v, %v; want no shared overlay", ss, err)
	}
	if _, err := openSharedStripe(ctx, upd, env(plain.URL), Shard{Index: 1, Count: 4}, "r1", cfg); err == nil || !strings.Contains(err.Error(), "cachebench env up") || !strings.Contains(err.Error(), "CACHEBENCH_STRIPE_URL") {
		t.Errorf("updates against a plain Stripe API: %v, want an error naming cachebench env up and CACHEBENCH_STRIPE_URL", err)
	}
	faulty := *upd
	faulty.Faults = []scenarios.Fault{{Target: mocks.ServiceStripe, Kind: netsim.KindRateLimit}}
	if _, err := openSharedStripe(ctx, &faulty, env(srv.URL), Shard{Index: 1, Count: 4}, "r1", cfg); err == nil || !strings.Contains(err.Error(), "rate_limit") {
		t.Errorf("an injected 429 storm with a shared overlay: %v, want a refusal", err)
	}
	a, err := openSharedStripe(ctx, upd, env(srv.URL), Shard{Index: 0, Count: 4}, "r1", cfg)
	if err != nil || a == nil {
		t.Fatalf("shard 0 with the service: %v, %v", a, err)
	}
	b, err := openSharedStripe(ctx, upd, env(srv.URL), Shard{Index: 3, Count: 4}, "r1", cfg)
	if err != nil || b == nil {
		t.Fatalf("shard 3 with the service: %v, %v", b, err)
	}
	if a.remote.StripeURL() != b.remote.StripeURL() || !strings.HasPrefix(a.remote.StripeURL(), srv.URL+stripeoverlay.APIPrefix) {
		t.Errorf("the shards' Stripe URLs %q and %q are not one run's in the service", a.remote.StripeURL(), b.remote.StripeURL())
	}
}

// TestSharedStripeJudgeAndWebhooks has a shard join a run in a Stripe overlay service in
// front of the embedded stripe-mock, receive the run's webhook events at its own
// endpoint, and judge reads at the end against the whole history: a read of version 1
// before an update is current, one after it stale (in the timeline's second it ended
// in), one of version 2 current, and one of a version the object never had unchecked.
func TestSharedStripeJudgeAndWebhooks(t *testing.T) {
	env := mockstest.Start(t, mocks.ProviderEmbedded)
	svc, err := stripeoverlay.NewService(stripeoverlay.ServiceConfig{Upstream: env.Stripe.URL})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	ctx := context.Background()
	upd := &scenarios.Scenario{Arrival: scenarios.Arrival{Model: scenarios.ArrivalConstant, Rate: 10}, Ops: scenarios.Ops{Get: 0.9, Update: 0.1}}
	ext := &mocks.Env{Provider: mocks.ProviderExternal, Stripe: mocks.StripeEndpoint{URL: srv.URL}}
	ss, err := openSharedStripe(ctx, upd, ext, Shard{Index: 1, Count: 2}, "r-judge", stripeoverlay.Config{Mode: "none", Webhook: stripeoverlay.WebhookConfig{Delay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer ss.close()
	events := make(chan string, 4)
	if err := ss.receive(ctx, func(_ context.Context, payload []byte, sig string) error {
		ev, err := webhook.ConstructEvent(payload, sig, ss.remote.WebhookSecret())
		if err != nil {
			return err
		}
		events <- string(ev.Type)
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	measured := time.Now()
	ss.later("customer", "cus_j", 1, time.Now())
	if v, err := ss.remote.Update(ctx, "customer", "cus_j", map[string]string{"k": "1"}); err != nil || v != 2 {
		t.Fatalf("update: %d, %v", v, err)
	}
	select {
	case typ := <-events:
		if typ != "customer.updated" {
			t.Errorf("event %q, want customer.updated", typ)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook event reached the shard's endpoint")
	}
	time.Sleep(2 * time.Millisecond)
	ss.later("customer", "cus_j", 1, time.Now())
	ss.later("customer", "cus_j", 2, time.Now())
	ss.later("customer", "cus_j", 9, time.Now())

	c := &collector{r: &runner{measured: measured}, total: newInterval(), timeline: []reports.Second{{TS: 0}, {TS: 1}}}
	if err := ss.judge(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got := c.total.c; got.checked != 3 || got.stale != 1 {
		t.Errorf("judged %d reads, %d stale; want 3 and 1", got.checked, got.stale)
	}
	if c.total.stale.TotalCount() != 1 || c.timeline[0].StaleReads != 1 || c.timeline[1].StaleReads != 0 {
		t.Errorf("staleness histogram %d, timeline %+v; want the stale read in second 0", c.total.stale.TotalCount(), c.timeline)
	}
}
