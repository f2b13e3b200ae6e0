package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
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
