package bench

import (
	"context"
	"time"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// serverCounters are the services' own counters at one moment: Redis's INFO, the
// capacity DynamoDB reported to the caches' L3 tiers, and the Stripe overlay's counts.
type serverCounters struct {
	redis   cachecore.RedisInfo
	redisOK bool // INFO answered
	l3      cachecore.TierStats
	overlay stripeoverlay.Stats
}

// serverInfoTimeout bounds the INFO read at each end of the measured part.
const serverInfoTimeout = 5 * time.Second

// readServers reads the services' own counters now. Redis's INFO goes to the server
// directly, not through the network profile or its faults; it is read only when the
// scenario uses Redis.
func (r *runner) readServers() serverCounters {
	var sc serverCounters
	if env := r.world.Env; env != nil && env.RedisClient != nil && (r.s.Cache.L2.Enabled || r.s.Cache.Lease > 0) {
		if t, err := cachecore.NewRedisTier(cachecore.RedisConfig{Client: env.RedisClient, Pipeline: cachecore.PipelineNever}); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), serverInfoTimeout)
			sc.redis, err = t.Info(ctx)
			cancel()
			sc.redisOK = err == nil
		}
	}
	_, sc.l3 = r.exec.tierStats()
	sc.overlay = r.world.Overlay.Stats()
	return sc
}

// serversOver returns the services' counters over the measured part, from a (its start)
// to b (its end). What a service did not report is left out: a Redis whose INFO lacks a
// field (miniredis has only total_commands_processed), a DynamoDB that answered the
// tier's calls without ConsumedCapacity.
func (r *runner) serversOver(a, b serverCounters) *reports.Servers {
	out := &reports.Servers{}
	if a.redisOK && b.redisOK && r.redisServerNote() == "" {
		rs := &reports.RedisServer{}
		delta := func(field string, x, y int64) *int64 {
			if !a.redis.Reported[field] || !b.redis.Reported[field] {
				return nil
			}
			d := y - x
			return &d
		}
		rs.KeyspaceHits = delta("keyspace_hits", a.redis.KeyspaceHits, b.redis.KeyspaceHits)
		rs.KeyspaceMisses = delta("keyspace_misses", a.redis.KeyspaceMisses, b.redis.KeyspaceMisses)
		rs.EvictedKeys = delta("evicted_keys", a.redis.EvictedKeys, b.redis.EvictedKeys)
		rs.ExpiredKeys = delta("expired_keys", a.redis.ExpiredKeys, b.redis.ExpiredKeys)
		rs.Commands = delta("total_commands_processed", a.redis.TotalCommands, b.redis.TotalCommands)
		if b.redis.Reported["used_memory_peak"] {
			peak := b.redis.UsedMemoryPeak
			rs.UsedMemoryPeakBytes = &peak
		}
		if *rs != (reports.RedisServer{}) {
			out.Redis = rs
		}
	}
	if r.s.Cache.L3.Enabled {
		d := subTier(b.l3, a.l3)
		// No call, no capacity: zero is then what DynamoDB would have said.
		if d.CapacityReports > 0 || d.Gets+d.Sets+d.SetsRejected+d.Deletes+d.Errors == 0 {
			out.DynamoDB = &reports.DynamoDBServer{ConsumedRCU: d.ReportedReadUnits, ConsumedWCU: d.ReportedWriteUnits}
		}
	}
	out.Stripe = &reports.StripeServer{
		Requests: int64(b.overlay.Requests - a.overlay.Requests),
		Reads:    int64(b.overlay.Reads - a.overlay.Reads),
	}
	return out
}

// redisServerNote says why servers.redis is left out of this run, or "": the INFO the
// tier reads is its primaries', so it misses what replicas answered (read_from: replica),
// and a failover changes the primary between the two readings.
func (r *runner) redisServerNote() string {
	switch {
	case !r.s.Cache.L2.Enabled:
		return ""
	case r.failover != nil:
		return "servers.redis is left out: the failover fault changed the primary, so its INFO counters at the start and at the end are two servers'"
	case r.s.Cache.L2.ReadFrom == scenarios.ReadFromReplica:
		return "servers.redis is left out: with cache.l2.read_from replica the replicas answer the reads, and the counters read are the primaries'"
	}
	return ""
}
