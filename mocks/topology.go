package mocks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis topologies and authentication modes a provider can start (RedisTopology).
const (
	TopologyStandalone = "standalone"
	TopologyCluster    = "cluster"

	AuthNone     = "none"
	AuthPassword = "password"
	AuthACL      = "acl"
)

// ACLUser is the user the cache connects as when RedisTopology.Auth is acl.
const ACLUser = "cachebench"

// aclRules are the only commands the ACL user may run: what cachecore sends (GET, SET,
// DEL, PTTL, EXISTS, STRLEN, MGET; its Lua scripts through EVAL/EVALSHA/SCRIPT, which
// call GET, SET and DEL; go-redis_rate's script adds TIME; the hot-key list's ZINCRBY,
// ZREMRANGEBYRANK and ZREVRANGE; INFO, MEMORY USAGE, DBSIZE and SCAN for its counters and
// footprint; PUBLISH/SUBSCRIBE and their sharded forms for invalidation; CLIENT TRACKING
// and the connection commands through @connection), and the read-only CLUSTER
// subcommands a cluster client needs to find the slots. CONFIG, FLUSHALL, KEYS, DEBUG,
// SHUTDOWN and every admin command stay refused.
var aclRules = []string{"reset", "on", "~*", "&*", "-@all", "+@connection",
	"+get", "+set", "+del", "+unlink", "+mget", "+pttl", "+ttl", "+exists", "+strlen",
	"+eval", "+evalsha", "+script|load", "+script|exists", "+time",
	"+zincrby", "+zremrangebyrank", "+zrevrange", "+zrange",
	"+info", "+memory|usage", "+dbsize", "+scan",
	"+publish", "+subscribe", "+unsubscribe", "+psubscribe", "+punsubscribe",
	"+spublish", "+ssubscribe", "+sunsubscribe",
	"+multi", "+exec", "+discard",
	"+cluster|slots", "+cluster|shards", "+cluster|nodes", "+cluster|info", "+cluster|myid",
	"+command", "+readonly", "+readwrite"}

// RedisTopology is the Redis the docker and local providers start: its shape, whether it
// speaks TLS and how clients authenticate. The zero value is one standalone server, no TLS,
// no AUTH.
type RedisTopology struct {
	// Topology is standalone (or empty) or cluster.
	Topology string
	// Shards is a cluster's primaries (default 3); Replicas the replicas of each (default 0).
	Shards, Replicas int
	// TLS makes every server listen only for TLS, with a CA and a server certificate for
	// 127.0.0.1 and localhost made at start; the client trusts that CA and nothing else.
	TLS bool
	// Auth is none (or empty), password (requirepass, masterauth for replicas) or acl (the
	// ACLUser allowed only aclRules; the default user keeps a password of its own, for
	// replication and the provider's setup).
	Auth string
}

// Normal returns t with its defaults filled in: equal Normal values start the same
// servers.
func (t RedisTopology) Normal() RedisTopology { return t.normal() }

// OnLoopback reports whether every host:port in addrs is on this machine.
func OnLoopback(addrs []string) bool {
	for _, a := range addrs {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			host = a
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return false
		}
	}
	return true
}

// normal returns t with its defaults filled in.
func (t RedisTopology) normal() RedisTopology {
	if t.Topology == "" {
		t.Topology = TopologyStandalone
	}
	if t.Auth == "" {
		t.Auth = AuthNone
	}
	if t.Topology == TopologyCluster && t.Shards == 0 {
		t.Shards = 3
	}
	if t.Topology == TopologyStandalone {
		t.Shards, t.Replicas = 1, 0
	}
	return t
}

// Plain reports whether t is one standalone server without TLS or AUTH: what every
// provider runs.
func (t RedisTopology) Plain() bool {
	t = t.normal()
	return t.Topology == TopologyStandalone && !t.TLS && t.Auth == AuthNone
}

// Validate says what is wrong with t, naming the scenario key to fix.
func (t RedisTopology) Validate() error {
	t = t.normal()
	var errs []error
	switch t.Topology {
	case TopologyStandalone, TopologyCluster:
	default:
		errs = append(errs, fmt.Errorf("redis topology %q: use standalone or cluster (cache.l2.topology)", t.Topology))
	}
	switch t.Auth {
	case AuthNone, AuthPassword, AuthACL:
	default:
		errs = append(errs, fmt.Errorf("redis auth %q: use none, password or acl (cache.l2.auth)", t.Auth))
	}
	if t.Topology == TopologyCluster && (t.Shards < 1 || t.Shards > 16 || t.Replicas < 0 || t.Replicas > 5) {
		errs = append(errs, fmt.Errorf("redis cluster of %d shards × %d replicas: use 1 to 16 shards and 0 to 5 replicas (cache.l2.shards, cache.l2.replicas)", t.Shards, t.Replicas))
	}
	return configErrorOf(errors.Join(errs...))
}

func configErrorOf(err error) error {
	if err == nil {
		return nil
	}
	return configError{err}
}

// String describes t for the environment line: "cluster 3×(1+1), TLS, ACL".
func (t RedisTopology) String() string {
	t = t.normal()
	s := t.Topology
	if t.Topology == TopologyCluster {
		s += fmt.Sprintf(" %d×(1+%d)", t.Shards, t.Replicas)
	}
	if t.TLS {
		s += ", TLS"
	}
	switch t.Auth {
	case AuthPassword:
		s += ", AUTH password"
	case AuthACL:
		s += ", AUTH ACL user " + ACLUser
	}
	return s
}

// redisSecrets are the passwords and TLS material of one started topology.
type redisSecrets struct {
	dir       string // holds the certificates, keys and cluster files
	adminPass string // the default user's password ("" without AUTH)
	appUser   string // the user the cache connects as ("" for the default user)
	appPass   string
	tls       *tls.Config // what clients use; nil without TLS
}

// newRedisSecrets makes a folder (under base, or the system's temporary folder) with
// what t needs: passwords from crypto/rand and, with TLS, a CA and a server certificate.
func newRedisSecrets(t RedisTopology, base string) (*redisSecrets, error) {
	dir, err := os.MkdirTemp(base, "cachebench-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis: make a folder for the servers' files: %w", err)
	}
	s := &redisSecrets{dir: dir}
	switch t.Auth {
	case AuthPassword:
		s.adminPass = randomSecret()
		s.appPass = s.adminPass
	case AuthACL:
		s.adminPass = randomSecret()
		s.appUser, s.appPass = ACLUser, randomSecret()
	}
	if t.TLS {
		pool, err := writeCertificates(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		s.tls = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// writeCertificates writes ca.pem, server.pem and server.key into dir: a CA made now and a
// server certificate it signs for 127.0.0.1, ::1 and localhost, usable by the servers as
// clients of each other too (replication, the cluster bus). It returns a pool holding
// only that CA.
func writeCertificates(dir string) (*x509.CertPool, error) {
	fail := func(err error) (*x509.CertPool, error) {
		return nil, fmt.Errorf("redis: make TLS certificates: %w", err)
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cachebench test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fail(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fail(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fail(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return fail(err)
	}
	for name, block := range map[string]*pem.Block{
		"ca.pem":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return fail(err)
		}
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return pool, nil
}

// nodeArgs are the redis-server arguments of one node listening on port (and, in a
// cluster, its bus on busPort), with files under dir as the server sees it.
func (t RedisTopology) nodeArgs(s *redisSecrets, dir string, port, busPort int) []string {
	args := []string{"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir}
	if t.TLS {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", dir+"/server.pem", "--tls-key-file", dir+"/server.key",
			"--tls-ca-cert-file", dir+"/ca.pem", "--tls-auth-clients", "no",
			"--tls-replication", "yes")
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	if t.Topology == TopologyCluster {
		args = append(args, "--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
			"--cluster-config-file", fmt.Sprintf("%s/nodes-%d.conf", dir, port), "--cluster-node-timeout", "3000")
		if t.TLS {
			args = append(args, "--tls-cluster", "yes")
		}
	}
	if s.adminPass != "" {
		args = append(args, "--requirepass", s.adminPass, "--masterauth", s.adminPass)
	}
	return args
}

// adminOptions are a client's options for one node as the default user (setup, probes).
func (s *redisSecrets) adminOptions(addr string) *redis.Options {
	o := &redis.Options{Addr: addr, Password: s.adminPass, DialTimeout: time.Second, MaxRetries: -1, Protocol: 2}
	if s.tls != nil {
		o.TLSConfig = s.tls.Clone()
	}
	return o
}

// probe returns a readiness probe that speaks the node's TLS and AUTH.
func (s *redisSecrets) probe() func(context.Context, string) error {
	return func(ctx context.Context, addr string) error {
		c := redis.NewClient(s.adminOptions(addr))
		defer c.Close()
		return c.Ping(ctx).Err()
	}
}

// clientOptions are the cache's client options for the started nodes.
func (t RedisTopology) clientOptions(s *redisSecrets, addrs []string) *redis.UniversalOptions {
	o := &redis.UniversalOptions{Addrs: addrs, Username: s.appUser, Password: s.appPass,
		IsClusterMode: t.Topology == TopologyCluster,
		DialTimeout:   5 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
	if s.tls != nil {
		o.TLSConfig = s.tls.Clone()
	}
	return o
}

// endpoint describes the started nodes; addrs are the primaries' then the replicas'.
func (t RedisTopology) endpoint(addrs []string) RedisEndpoint {
	scheme := "redis://"
	if t.TLS {
		scheme = "rediss://"
	}
	u := scheme + addrs[0]
	if t.Auth == AuthACL {
		u = scheme + ACLUser + ":xxxxx@" + addrs[0]
	} else if t.Auth == AuthPassword {
		u = scheme + ":xxxxx@" + addrs[0]
	}
	return RedisEndpoint{Addrs: addrs[:max(t.Shards, 1)], URL: u, TLS: t.TLS, Cluster: t.Topology == TopologyCluster,
		Topology: t.Topology, Shards: t.Shards, Replicas: t.Replicas, Auth: t.Auth}
}

// setUp makes the started nodes into t: the ACL user on each, then for a cluster the
// slots split evenly over the first Shards nodes, every node met, the rest made replicas
// (Shards of them per round), and a wait until every node says cluster_state:ok and
// lists every replica in CLUSTER SLOTS (so a client's first slot map has them). The
// nodes are given by their client address and cluster bus port.
func (t RedisTopology) setUp(ctx context.Context, s *redisSecrets, addrs []string, busPorts []int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	clients := make([]*redis.Client, len(addrs))
	for i, a := range addrs {
		clients[i] = redis.NewClient(s.adminOptions(a))
		defer clients[i].Close()
	}
	if t.Auth == AuthACL {
		args := []any{"ACL", "SETUSER", ACLUser}
		for _, r := range aclRules {
			args = append(args, r)
		}
		args = append(args, ">"+s.appPass)
		for i, c := range clients {
			if err := c.Do(ctx, args...).Err(); err != nil {
				return fmt.Errorf("redis: create the ACL user on %s: %w", addrs[i], err)
			}
		}
	}
	if t.Topology != TopologyCluster {
		return nil
	}
	for i := 0; i < t.Shards; i++ {
		lo, hi := i*16384/t.Shards, (i+1)*16384/t.Shards-1
		if err := clients[i].ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("redis cluster: assign slots %d-%d to %s: %w", lo, hi, addrs[i], err)
		}
	}
	host, port0, _ := net.SplitHostPort(addrs[0])
	for i := 1; i < len(clients); i++ {
		if err := clients[i].Do(ctx, "CLUSTER", "MEET", host, port0, busPorts[0]).Err(); err != nil {
			return fmt.Errorf("redis cluster: %s meets %s: %w", addrs[i], addrs[0], err)
		}
	}
	if err := waitAll(ctx, clients, "every node knows every other", func(c *redis.Client) error {
		nodes, err := c.ClusterNodes(ctx).Result()
		if err != nil {
			return err
		}
		if n := strings.Count(strings.TrimSpace(nodes), "\n") + 1; n != len(clients) || strings.Contains(nodes, "handshake") {
			return fmt.Errorf("knows %d of %d nodes", n, len(clients))
		}
		return nil
	}); err != nil {
		return err
	}
	for i := t.Shards; i < len(clients); i++ {
		primary := i % t.Shards
		id, err := clients[primary].Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			return fmt.Errorf("redis cluster: ID of %s: %w", addrs[primary], err)
		}
		if err := clients[i].ClusterReplicate(ctx, id).Err(); err != nil {
			return fmt.Errorf("redis cluster: make %s a replica of %s: %w", addrs[i], addrs[primary], err)
		}
	}
	replicas := len(clients) - t.Shards
	return waitAll(ctx, clients, "cluster_state:ok and every replica in CLUSTER SLOTS on every node", func(c *redis.Client) error {
		info, err := c.ClusterInfo(ctx).Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return errors.New("cluster_state is not ok yet")
		}
		// CLUSTER SLOTS lists a replica only once it has synced: the map clients load.
		slots, err := c.ClusterSlots(ctx).Result()
		if err != nil {
			return err
		}
		n := 0
		for _, sl := range slots {
			n += len(sl.Nodes) - 1
		}
		if n != replicas {
			return fmt.Errorf("knows %d of %d replicas", n, replicas)
		}
		return nil
	})
}

// waitAll polls check on every client until it passes on all or ctx ends.
func waitAll(ctx context.Context, clients []*redis.Client, what string, check func(*redis.Client) error) error {
	for {
		var last error
		for _, c := range clients {
			if err := check(c); err != nil {
				last = fmt.Errorf("%s: %w", c.Options().Addr, err)
				break
			}
		}
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster: no %s in time (last: %v)", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// startLocalRedis runs the nodes of t as redis-server child processes on loopback, and
// sets them up. Every process it started is registered on env, so env's Close (also on a
// failed start) stops them and removes their folder.
func startLocalRedis(ctx context.Context, env *Env, cfg LocalConfig, t RedisTopology) (*redis.UniversalOptions, error) {
	return startRedisNodes(ctx, env, t, func(i int, s *redisSecrets) (func(context.Context) error, string, int, error) {
		var busPort int
		spec := localSpec{name: fmt.Sprintf("redis-server node %d", i+1), ports: 2, probe: s.probe(),
			args: func(ports []int) (string, []string, string) {
				busPort = ports[1]
				return cfg.RedisServer, append([]string{"--bind", "127.0.0.1", "--protected-mode", "yes"},
					t.nodeArgs(s, s.dir, ports[0], ports[1])...), ""
			}}
		p, addr, err := spec.start(ctx, cfg.StartTimeout)
		if p == nil {
			return nil, addr, busPort, err
		}
		return p.stop, addr, busPort, err
	})
}

// startRedisNodes starts the Shards × (1 + Replicas) nodes of t with start, in parallel,
// and sets them up. start runs node i and returns what stops it (nil if nothing runs),
// its client address and its cluster bus port. Every node started is registered on env,
// so env's Close (also on a failed start) stops them and removes their folder.
func startRedisNodes(ctx context.Context, env *Env, t RedisTopology,
	start func(i int, s *redisSecrets) (stop func(context.Context) error, addr string, busPort int, err error)) (*redis.UniversalOptions, error) {
	s, err := newRedisSecrets(t, "")
	if err != nil {
		return nil, err
	}
	env.onClose(func(context.Context) error { return os.RemoveAll(s.dir) })
	n := max(t.Shards, 1) * (1 + t.Replicas)
	addrs, busPorts, errs := make([]string, n), make([]int, n), make([]error, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			stop, addr, bus, err := start(i, s)
			if stop != nil {
				mu.Lock()
				env.onClose(stop)
				mu.Unlock()
			}
			addrs[i], busPorts[i], errs[i] = addr, bus, err
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := t.setUp(ctx, s, addrs, busPorts); err != nil {
		return nil, err
	}
	env.Redis = t.endpoint(addrs)
	if t.TLS {
		env.Redis.CAFile = filepath.Join(s.dir, "ca.pem")
	}
	if t.Auth == AuthACL {
		admin := t.clientOptions(&redisSecrets{adminPass: s.adminPass, tls: s.tls}, addrs[:max(t.Shards, 1)])
		admin.Password = s.adminPass
		env.adminRedisOptions = admin
	}
	return t.clientOptions(s, addrs[:max(t.Shards, 1)]), nil
}
