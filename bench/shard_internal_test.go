package bench

import (
	"strings"
	"testing"

	"github.com/cachebench/cachebench/mocks"
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
	upd := *ok
	upd.Ops = scenarios.Ops{Get: 0.9, Update: 0.1}
	small := *ok
	small.Lambda = scenarios.Lambda{Enabled: true, MaxConcurrency: 2}
	for _, tc := range []struct {
		s    *scenarios.Scenario
		env  *mocks.Env
		want string
	}{
		{ok, &mocks.Env{Provider: mocks.ProviderLocal}, "--env external"},
		{&closed, ext, "closed arrival model cannot be sharded"},
		{&upd, ext, "ops.update"},
		{&small, ext, "lambda.max_concurrency 2"},
	} {
		err := checkShard(tc.s, tc.env, Shard{Index: 0, Count: 4})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
}
