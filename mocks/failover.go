package mocks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNoFailover is matched (errors.Is) by Failover's error when the environment's Redis
// has no replica a failover could promote, or was not started by the provider.
var ErrNoFailover = errors.New("no failover possible")

// sentinelClient returns a client for the Sentinel at addr, with the cache's Sentinel
// credentials and TLS.
func (e *Env) sentinelClient(addr string) *redis.SentinelClient {
	o := e.redisOptions
	return redis.NewSentinelClient(&redis.Options{Addr: addr, Username: o.SentinelUsername, Password: o.SentinelPassword,
		TLSConfig: o.TLSConfig, DialTimeout: 2 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
		ContextTimeoutEnabled: true, MaxRetries: -1})
}

// askSentinels runs ask on each Sentinel in turn until one answers, and returns the
// last error if none does.
func (e *Env) askSentinels(ctx context.Context, ask func(*redis.SentinelClient) error) error {
	var last error
	for _, a := range e.Redis.Addrs {
		c := e.sentinelClient(a)
		last = ask(c)
		_ = c.Close()
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("redis: no Sentinel answered (%s): %w", strings.Join(e.Redis.Addrs, ", "), last)
}

// RedisPrimary returns the host:port of the Redis primary the cache writes to now: the
// one the Sentinels name (replicated), the primary of hash slot 0 (cluster), or the
// server itself (standalone).
func (e *Env) RedisPrimary(ctx context.Context) (string, error) {
	switch {
	case e.Redis.MasterName != "":
		var addr string
		err := e.askSentinels(ctx, func(c *redis.SentinelClient) error {
			hp, err := c.GetMasterAddrByName(ctx, e.Redis.MasterName).Result()
			if err == nil && len(hp) == 2 {
				addr = net.JoinHostPort(hp[0], hp[1])
			}
			return err
		})
		return addr, err
	case e.Redis.Cluster:
		nodes, err := e.slotZero(ctx)
		if err != nil {
			return "", err
		}
		return nodes[0], nil
	}
	if len(e.Redis.Addrs) == 0 {
		return "", errors.New("redis: no address")
	}
	return e.Redis.Addrs[0], nil
}

// RedisReplicas returns the host:port of the replicas of the primary RedisPrimary names
// that the Sentinels (replicated) or the cluster (the replicas of hash slot 0's primary)
// list as up; none for a standalone server.
func (e *Env) RedisReplicas(ctx context.Context) ([]string, error) {
	switch {
	case e.Redis.MasterName != "":
		var out []string
		err := e.askSentinels(ctx, func(c *redis.SentinelClient) error {
			reps, err := c.Replicas(ctx, e.Redis.MasterName).Result()
			if err != nil {
				return err
			}
			out = out[:0]
			for _, f := range reps {
				if strings.Contains(f["flags"], "down") || strings.Contains(f["flags"], "disconnected") {
					continue
				}
				out = append(out, net.JoinHostPort(f["ip"], f["port"]))
			}
			return nil
		})
		return out, err
	case e.Redis.Cluster:
		nodes, err := e.slotZero(ctx)
		if err != nil {
			return nil, err
		}
		return nodes[1:], nil
	}
	return nil, nil
}

// slotZero returns the nodes serving hash slot 0, primary first, as any node the
// provider started (or the client's seeds) sees them.
func (e *Env) slotZero(ctx context.Context) ([]string, error) {
	var last error
	for _, addr := range e.dataNodeAddrs() {
		o := e.redisOptions.Simple()
		if e.redisSecrets != nil {
			o = e.redisSecrets.adminOptions(addr)
		}
		o.Addr, o.MaxRetries = addr, -1
		c := redis.NewClient(o)
		slots, err := c.ClusterSlots(ctx).Result()
		_ = c.Close()
		if err != nil {
			last = err
			continue
		}
		for _, s := range slots {
			if s.Start == 0 && len(s.Nodes) > 0 {
				out := make([]string, len(s.Nodes))
				for i, n := range s.Nodes {
					out[i] = n.Addr
				}
				return out, nil
			}
		}
		last = fmt.Errorf("%s serves no slot range from 0", addr)
	}
	return nil, fmt.Errorf("redis cluster: which node serves slot 0: %w", last)
}

// dataNodeAddrs are the addresses of the data nodes the provider started, or else the
// client's seeds.
func (e *Env) dataNodeAddrs() []string {
	if len(e.redisNodes) == 0 {
		return e.Redis.Addrs
	}
	n := e.redisTopology.dataNodes()
	out := make([]string, 0, n)
	for _, node := range e.redisNodes[:n] {
		out = append(out, node.addr)
	}
	return out
}

// FailoverTopologies names the topologies a failover fault runs on.
const FailoverTopologies = "cache.l2.topology: replicated, or cluster with cache.l2.replicas of 1 or more, started by --env local or --env docker"

// CanFailover says why a failover cannot run on e, or nil when it can.
func (e *Env) CanFailover() error {
	t := e.redisTopology
	switch {
	case len(e.redisNodes) == 0:
		return fmt.Errorf("%w: the failover fault kills a Redis primary the environment started, and %s Redis (%s) was not started here: use %s",
			ErrNoFailover, e.Provider, e.Redis.Topology, FailoverTopologies)
	case t.Topology == TopologyReplicated, t.Topology == TopologyCluster && t.Replicas > 0:
		return nil
	}
	return fmt.Errorf("%w: a %s Redis has no replica to promote: use %s", ErrNoFailover, t, FailoverTopologies)
}

// Failover kills the Redis primary the cache writes to (RedisPrimary) at once, as a
// crash would (SIGKILL, or a container killed with no grace), so that the Sentinels
// (replicated) or the cluster's other nodes promote one of its replicas. It returns the
// killed node's address and the function that starts it again on the same port; it
// comes back empty (no persistence) and rejoins as a replica of the promoted one.
func (e *Env) Failover(ctx context.Context) (killed string, restart func(context.Context) error, err error) {
	if err := e.CanFailover(); err != nil {
		return "", nil, err
	}
	primary, err := e.RedisPrimary(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("failover: find the primary: %w", err)
	}
	for _, n := range e.redisNodes[:e.redisTopology.dataNodes()] {
		if sameAddr(n.addr, primary) {
			if err := n.kill(ctx); err != nil {
				return "", nil, fmt.Errorf("failover: kill the primary %s: %w", primary, err)
			}
			return n.addr, n.restart, nil
		}
	}
	return "", nil, fmt.Errorf("failover: the primary %s is none of the nodes started here", primary)
}

// sameAddr compares host:port addresses, taking localhost and 127.0.0.1 as one.
func sameAddr(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	norm := func(h string) string {
		if h == "localhost" {
			return "127.0.0.1"
		}
		return h
	}
	pai, _ := strconv.Atoi(pa)
	pbi, _ := strconv.Atoi(pb)
	return norm(ha) == norm(hb) && pai == pbi
}

// NewNodeClient returns a client for one Redis server the environment started (a
// primary or a replica, by its host:port), as its default user with its TLS: for
// reading a node's own counters or role. The caller closes it. It returns nil when the
// environment started no topology (a plain server is reached with NewAdminRedisClient).
func (e *Env) NewNodeClient(addr string) *redis.Client {
	if e.redisSecrets == nil {
		return nil
	}
	o := e.redisSecrets.adminOptions(addr)
	o.ContextTimeoutEnabled = true
	return redis.NewClient(o)
}
