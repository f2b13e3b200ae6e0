package bench

import (
	"fmt"
	"strings"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// worldConfig turns the scenario's network, fault and Stripe keys into the mocks' World
// configuration.
func worldConfig(s *scenarios.Scenario) (mocks.WorldConfig, error) {
	var cfg mocks.WorldConfig
	var err error
	if cfg.Redis, err = profile(s.Network.Redis); err != nil {
		return cfg, fmt.Errorf("network.redis: %w", err)
	}
	if cfg.DynamoDB, err = profile(s.Network.DynamoDB); err != nil {
		return cfg, fmt.Errorf("network.dynamodb: %w", err)
	}
	if cfg.Stripe, err = profile(s.Network.Stripe); err != nil {
		return cfg, fmt.Errorf("network.stripe: %w", err)
	}
	seen := map[string]bool{}
	for _, f := range s.Faults {
		if f.Kind == scenarios.FaultFailover {
			// No proxy: the environment kills the primary itself.
			cfg.RedisFailover = true
			continue
		}
		if !seen[f.Target] {
			seen[f.Target] = true
			cfg.FaultTargets = append(cfg.FaultTargets, f.Target)
		}
	}
	if s.Cache.L2.Enabled {
		cfg.RedisReadFrom = s.Cache.L2.ReadFrom
	}
	cfg.Overlay = stripeoverlay.Config{
		Mode: s.Stripe.Mode,
		Seed: s.Seed,
		Webhook: stripeoverlay.WebhookConfig{
			Delay:      s.Stripe.WebhookDelay,
			Duplicates: s.Stripe.WebhookDuplicates,
			Reorder:    s.Stripe.WebhookReorder,
		},
	}
	return cfg, nil
}

// shareLimits gives a shard its part of the Stripe account's rate limits: each shard's
// overlay limits its own requests, so with N shards each allows 1/N of the mode's reads,
// writes and searches per second, and the shards together allow what the account does.
// (The split is even, as the shards' loads are: each has every N-th request.)
func shareLimits(cfg *mocks.WorldConfig, s *scenarios.Scenario, sh Shard) {
	if !sh.sharded() || s.Stripe.Mode == scenarios.StripeModeNone {
		return
	}
	read, search := 25.0, 20.0 // Stripe's test mode (stripeoverlay.ModeTest)
	if s.Stripe.Mode == stripeoverlay.ModeLive {
		read = 100
	}
	n := float64(sh.Count)
	cfg.Overlay.Limits = &stripeoverlay.Limits{
		Read: read / n, Write: read / n,
		PerPath: map[string]float64{stripeoverlay.SearchPattern: search / n},
	}
}

// profile resolves a scenario's network link to a netsim profile.
func profile(l scenarios.NetLink) (netsim.Profile, error) {
	switch l.Profile {
	case "", "none":
		return netsim.Lookup("none")
	case "custom":
		return netsim.Custom(l.Latency, l.Jitter, int64(l.Bandwidth)), nil
	}
	return netsim.Lookup(l.Profile)
}

// describe is the result's environment block: what answered for each tier and the
// network in front of it.
func describe(w *mocks.World) reports.Environment {
	e := w.Env
	return reports.Environment{
		Provider: e.Provider,
		Redis:    e.Redis.Backend,
		DynamoDB: e.DynamoDB.Backend,
		Stripe:   e.Stripe.Backend + " behind the cachebench Stripe overlay",
		Network:  w.Profiles(),

		RedisTopology: e.Redis.Topology,
		Shards:        e.Redis.Shards,
		Replicas:      e.Redis.Replicas,
		TLS:           e.Redis.TLS,
		Auth:          e.Redis.Auth,
	}
}

// RedisTopology is the Redis a scenario asks the docker and local environments to start
// (cache.l2's topology, shards, replicas, tls and auth), with its defaults filled in, so
// two scenarios that need the same servers compare equal.
func RedisTopology(s *scenarios.Scenario) mocks.RedisTopology {
	l := s.Cache.L2
	return mocks.RedisTopology{Topology: l.Topology, Shards: l.Shards, Replicas: l.Replicas, TLS: l.TLS, Auth: l.Auth}.Normal()
}

// insecureRedisNote warns when the L2 is an external Redis off this machine reached
// without TLS or without AUTH: its traffic, or the cache itself, is open to anyone on
// the network path.
func insecureRedisNote(e *mocks.Env) string {
	if e.Provider != mocks.ProviderExternal || e.Redis.Backend == "" || len(e.Redis.Addrs) == 0 || mocks.OnLoopback(e.Redis.Addrs) {
		return ""
	}
	var missing []string
	if !e.Redis.TLS {
		missing = append(missing, "without TLS (rediss://)")
	}
	if e.Redis.Auth == "" || e.Redis.Auth == mocks.AuthNone {
		missing = append(missing, "without AUTH (CACHEBENCH_REDIS_USERNAME / CACHEBENCH_REDIS_PASSWORD or a password in the URL)")
	}
	if len(missing) == 0 {
		return ""
	}
	return "Security: the external Redis at " + e.Redis.URL + " is not on this machine and was reached " + strings.Join(missing, " and ") +
		": anyone on the network path can read or change the cache. Turn on encryption in transit and AUTH (ElastiCache: transit encryption and an AUTH token or RBAC user)."
}
