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
	TopologyReplicated = "replicated"
	TopologyCluster    = "cluster"

	AuthNone     = "none"
	AuthPassword = "password"
	AuthACL      = "acl"
)

// ACLUser is the user the cache connects as when RedisTopology.Auth is acl.
const ACLUser = "cachebench"

// SentinelMaster is the name the Sentinels of a replicated topology monitor its primary
// by (go-redis's MasterName).
const SentinelMaster = "cachebench"

// sentinels is how many Sentinels a replicated topology runs: three, so that two agree
// a primary is down (the quorum) and a majority elects the one that fails it over.
const sentinels = 3

// Sentinel timings of a replicated topology: a primary that does not answer for
// sentinelDownAfter is down, and a failover that has not finished in sentinelFailoverTimeout
// is retried. Small, so that a failover takes seconds and a test of it stays short.
const (
	sentinelDownAfter       = 1000 // ms
	sentinelFailoverTimeout = 3000 // ms
)

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
	// Topology is standalone (or empty), replicated (a primary, Replicas replicas and three
	// Sentinels that fail it over) or cluster.
	Topology string
	// Shards is a cluster's primaries (default 3); Replicas the replicas of each (default
	// 0 for a cluster; for replicated, 0 means 1: a failover needs a replica to promote).
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
	if t.Topology == TopologyReplicated {
		t.Shards = 1
		if t.Replicas == 0 {
			t.Replicas = 1
		}
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
	case TopologyStandalone, TopologyReplicated, TopologyCluster:
	default:
		errs = append(errs, fmt.Errorf("redis topology %q: use standalone, replicated or cluster (cache.l2.topology)", t.Topology))
	}
	switch t.Auth {
	case AuthNone, AuthPassword, AuthACL:
	default:
		errs = append(errs, fmt.Errorf("redis auth %q: use none, password or acl (cache.l2.auth)", t.Auth))
	}
	if t.Topology == TopologyCluster && (t.Shards < 1 || t.Shards > 16 || t.Replicas < 0 || t.Replicas > 5) {
		errs = append(errs, fmt.Errorf("redis cluster of %d shards × %d replicas: use 1 to 16 shards and 0 to 5 replicas (cache.l2.shards, cache.l2.replicas)", t.Shards, t.Replicas))
	}
	if t.Topology == TopologyReplicated && (t.Replicas < 1 || t.Replicas > 5) {
		errs = append(errs, fmt.Errorf("redis replicated set with %d replicas: use 1 to 5 replicas (cache.l2.replicas)", t.Replicas))
	}
	return configErrorOf(errors.Join(errs...))
}

func configErrorOf(err error) error {
	if err == nil {
		return nil
	}
	return configError{err}
}

// String describes t for the environment line: "cluster 3×(1+1), TLS, AUTH ACL user
// cachebench", "replicated 1+1 with 3 Sentinels".
func (t RedisTopology) String() string {
	t = t.normal()
	s := t.Topology
	if t.Topology == TopologyCluster {
		s += fmt.Sprintf(" %d×(1+%d)", t.Shards, t.Replicas)
	}
	if t.Topology == TopologyReplicated {
		s += fmt.Sprintf(" 1+%d with %d Sentinels", t.Replicas, sentinels)
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
	// The nodes share dir: each keeps its own RDB file name, and a replica loads a full
	// sync straight from the socket into its empty dataset, so that no two replicas
	// syncing at once write, rename and load the same dump.rdb.
	args := []string{"--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir,
		"--dbfilename", fmt.Sprintf("dump-%d.rdb", port), "--repl-diskless-load", "on-empty-db"}
	args = append(args, t.listenArgs(dir, port)...)
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

// listenArgs are the arguments that make a server (or Sentinel) listen on port, for TLS
// only when t says so, and speak TLS to the servers it connects to.
func (t RedisTopology) listenArgs(dir string, port int) []string {
	if !t.TLS {
		return []string{"--port", strconv.Itoa(port)}
	}
	return []string{"--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", dir + "/server.pem", "--tls-key-file", dir + "/server.key",
		"--tls-ca-cert-file", dir + "/ca.pem", "--tls-auth-clients", "no",
		"--tls-replication", "yes"}
}

// sentinelArgs are the redis-server arguments of Sentinel number i listening on port,
// with its configuration file (which writeSentinelConfig made, and which the Sentinel
// rewrites as it learns) under dir. Clients and the other Sentinels authenticate to it
// with the cache's password (it holds no data, and go-redis gives the Sentinels one
// password of their own); it authenticates to the data nodes as their default user.
func (t RedisTopology) sentinelArgs(dir string, i, port int) []string {
	args := []string{sentinelConfigPath(dir, i), "--sentinel", "--bind", "127.0.0.1", "--protected-mode", "yes",
		"--daemonize", "no", "--dir", dir}
	return append(args, t.listenArgs(dir, port)...)
}

func sentinelConfigPath(dir string, i int) string { return fmt.Sprintf("%s/sentinel-%d.conf", dir, i) }

// writeSentinelConfig writes the starting configuration of Sentinel i: the password its
// clients give and the one it gives the other Sentinels. Which primary it monitors is
// set once every node runs (SENTINEL MONITOR), as the ports are known only then.
func writeSentinelConfig(dir string, i int, s *redisSecrets) error {
	var b strings.Builder
	if s.appPass != "" {
		fmt.Fprintf(&b, "requirepass %s\nsentinel sentinel-pass %s\n", s.appPass, s.appPass)
	}
	if err := os.WriteFile(sentinelConfigPath(dir, i), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("redis: write the configuration of Sentinel %d: %w", i+1, err)
	}
	return nil
}

// adminOptions are a client's options for one node as the default user (setup, probes).
func (s *redisSecrets) adminOptions(addr string) *redis.Options {
	o := &redis.Options{Addr: addr, Password: s.adminPass, DialTimeout: time.Second, MaxRetries: -1, Protocol: 2}
	if s.tls != nil {
		o.TLSConfig = s.tls.Clone()
	}
	return o
}

// sentinelOptions are a client's options for one Sentinel.
func (s *redisSecrets) sentinelOptions(addr string) *redis.Options {
	o := s.adminOptions(addr)
	o.Password = s.appPass
	return o
}

// probe returns a readiness probe that speaks the node's TLS and AUTH.
func (s *redisSecrets) probe(sentinel bool) func(context.Context, string) error {
	return func(ctx context.Context, addr string) error {
		o := s.adminOptions(addr)
		if sentinel {
			o = s.sentinelOptions(addr)
		}
		c := redis.NewClient(o)
		defer c.Close()
		return c.Ping(ctx).Err()
	}
}

// clientOptions are the cache's client options for the started nodes: addrs are the
// primaries (cluster, standalone) or the Sentinels (replicated).
func (t RedisTopology) clientOptions(s *redisSecrets, addrs []string) *redis.UniversalOptions {
	o := &redis.UniversalOptions{Addrs: addrs, Username: s.appUser, Password: s.appPass,
		IsClusterMode: t.Topology == TopologyCluster,
		DialTimeout:   5 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second,
		// As in redisOptionsFrom: the cache bounds each L2 call through its context.
		ContextTimeoutEnabled: true}
	if t.Topology == TopologyReplicated {
		o.MasterName, o.SentinelPassword = SentinelMaster, s.appPass
	}
	if s.tls != nil {
		o.TLSConfig = s.tls.Clone()
	}
	return o
}

// endpoint describes the started nodes; addrs are the primaries' then the replicas',
// then (replicated) the Sentinels'.
func (t RedisTopology) endpoint(addrs []string) RedisEndpoint {
	scheme := "redis://"
	if t.TLS {
		scheme = "rediss://"
	}
	cred := ""
	if t.Auth == AuthACL {
		cred = ACLUser + ":xxxxx@"
	} else if t.Auth == AuthPassword {
		cred = ":xxxxx@"
	}
	ep := RedisEndpoint{Addrs: addrs[:max(t.Shards, 1)], URL: scheme + cred + addrs[0], TLS: t.TLS, Cluster: t.Topology == TopologyCluster,
		Topology: t.Topology, Shards: t.Shards, Replicas: t.Replicas, Auth: t.Auth}
	if t.Topology == TopologyReplicated {
		// The Sentinels, as CACHEBENCH_REDIS_URL names them with CACHEBENCH_REDIS_SENTINEL_MASTER.
		sent := addrs[1+t.Replicas:]
		ep.Addrs, ep.MasterName = sent, SentinelMaster
		ep.URL = scheme + cred + seedsURL(sent)
	}
	return ep
}

// setUp makes the started nodes into t: the ACL user on each, then for a cluster the
// slots split evenly over the first Shards nodes, every node met, the rest made replicas
// (Shards of them per round), and a wait until every node says cluster_state:ok and
// lists every replica in CLUSTER SLOTS (so a client's first slot map has them). The
// nodes are given by their client address and cluster bus port.
func (t RedisTopology) setUp(ctx context.Context, s *redisSecrets, addrs []string, busPorts []int) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	sentinelAddrs := addrs[t.dataNodes():]
	addrs = addrs[:t.dataNodes()]
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
	if t.Topology == TopologyReplicated {
		return t.setUpReplicated(ctx, s, clients, sentinelAddrs)
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

// dataNodes is how many redis-server nodes that hold data t runs; a replicated
// topology runs its Sentinels after them.
func (t RedisTopology) dataNodes() int { return max(t.Shards, 1) * (1 + t.Replicas) }

// nodes is how many processes t runs: the data nodes and any Sentinels.
func (t RedisTopology) nodes() int {
	if t.Topology == TopologyReplicated {
		return t.dataNodes() + sentinels
	}
	return t.dataNodes()
}

// setUpReplicated makes every data node but the first a replica of it, has every
// Sentinel monitor it (quorum 2, down after sentinelDownAfter, with the default user's
// password), and waits until every replica is in sync and every Sentinel knows the
// primary, every replica and the other Sentinels: so a failover can start at once.
func (t RedisTopology) setUpReplicated(ctx context.Context, s *redisSecrets, clients []*redis.Client, sentinelAddrs []string) error {
	host, port, _ := net.SplitHostPort(clients[0].Options().Addr)
	for _, c := range clients[1:] {
		if err := c.ReplicaOf(ctx, host, port).Err(); err != nil {
			return fmt.Errorf("redis replicated: make %s a replica of %s: %w", c.Options().Addr, clients[0].Options().Addr, err)
		}
	}
	if err := waitAll(ctx, clients[1:], "replica in sync with the primary", func(c *redis.Client) error {
		info, err := c.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") || strings.Contains(info, "master_sync_in_progress:1") {
			return fmt.Errorf("not in sync yet (%s)", replicationState(info))
		}
		return nil
	}); err != nil {
		return err
	}
	sents := make([]*redis.Client, len(sentinelAddrs))
	for i, a := range sentinelAddrs {
		sents[i] = redis.NewClient(s.sentinelOptions(a))
		defer sents[i].Close()
		settings := []any{"SENTINEL", "SET", SentinelMaster, "down-after-milliseconds", sentinelDownAfter,
			"failover-timeout", sentinelFailoverTimeout, "parallel-syncs", 1}
		if s.adminPass != "" {
			settings = append(settings, "auth-pass", s.adminPass)
		}
		if err := sents[i].Do(ctx, "SENTINEL", "MONITOR", SentinelMaster, host, port, 2).Err(); err != nil {
			return fmt.Errorf("redis replicated: Sentinel %s monitors %s: %w", a, clients[0].Options().Addr, err)
		}
		if err := sents[i].Do(ctx, settings...).Err(); err != nil {
			return fmt.Errorf("redis replicated: configure Sentinel %s: %w", a, err)
		}
	}
	return waitAll(ctx, sents, "Sentinel that sees the primary, every replica and the other Sentinels", func(c *redis.Client) error {
		m, err := c.Do(ctx, "SENTINEL", "MASTER", SentinelMaster).Result()
		if err != nil {
			return err
		}
		f := sentinelFields(m)
		if f["flags"] != "master" || f["num-slaves"] != strconv.Itoa(t.Replicas) || f["num-other-sentinels"] != strconv.Itoa(sentinels-1) {
			return fmt.Errorf("sees flags %q, %s replicas, %s other Sentinels", f["flags"], f["num-slaves"], f["num-other-sentinels"])
		}
		return nil
	})
}

// sentinelFields turns a SENTINEL MASTER reply (a flat list of names and values, or a
// map in RESP3) into a map.
func sentinelFields(v any) map[string]string {
	out := map[string]string{}
	switch r := v.(type) {
	case []any:
		for i := 0; i+1 < len(r); i += 2 {
			out[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
		}
	case map[any]any:
		for k, v := range r {
			out[fmt.Sprint(k)] = fmt.Sprint(v)
		}
	}
	return out
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
			return fmt.Errorf("redis: no %s in time (last: %v)", what, last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// redisNode is one started server of a topology: a data node or a Sentinel.
type redisNode struct {
	addr    string
	busPort int
	// stop ends it for good (at Close); kill ends it at once, as a crash would (SIGKILL);
	// restart starts it again on the same ports with the same arguments and waits until
	// it answers.
	stop, kill, restart func(context.Context) error
}

// nodeSpec is what starts one node: its name, its readiness probe, and its redis-server
// arguments for its client port and cluster bus port.
type nodeSpec struct {
	name  string
	dir   string // the folder of its certificates and configuration files
	probe func(context.Context, string) error
	args  func(port, busPort int) []string
}

// startLocalRedis runs the nodes of t as redis-server child processes on loopback, and
// sets them up. Every process it started is registered on env, so env's Close (also on a
// failed start) stops them and removes their folder.
func startLocalRedis(ctx context.Context, env *Env, cfg LocalConfig, t RedisTopology) (*redis.UniversalOptions, error) {
	return startRedisNodes(ctx, env, t, func(ns nodeSpec) (*redisNode, error) {
		var busPort int
		spec := localSpec{name: ns.name, ports: 2, probe: ns.probe,
			args: func(ports []int) (string, []string, string) {
				busPort = ports[1]
				return cfg.RedisServer, ns.args(ports[0], ports[1]), ""
			}}
		p, addr, err := spec.start(ctx, cfg.StartTimeout)
		if p == nil {
			return nil, err
		}
		ln := &localNode{p: p, addr: addr, probe: ns.probe, timeout: cfg.StartTimeout}
		return &redisNode{addr: addr, busPort: busPort, stop: ln.stop, kill: ln.kill, restart: ln.restart}, err
	})
}

// localNode is a node run as a child process, which a failover may kill and restart.
type localNode struct {
	mu      sync.Mutex
	p       *localProc
	addr    string
	probe   func(context.Context, string) error
	timeout time.Duration
}

func (n *localNode) proc() *localProc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

func (n *localNode) stop(ctx context.Context) error { return n.proc().stop(ctx) }

func (n *localNode) kill(ctx context.Context) error {
	p := n.proc()
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("local: kill %s: %w", p.name, ctx.Err())
	}
}

func (n *localNode) restart(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	old := n.p
	q, err := startProc(old.name, old.cmd.Path, old.cmd.Args[1:], old.cmd.Dir)
	if err != nil {
		return err
	}
	n.p = q // so that Close stops it, whether or not it answers
	return q.waitReady(ctx, n.addr, n.probe, n.timeout)
}

// startRedisNodes starts the nodes of t (Shards × (1 + Replicas) data nodes, and the
// Sentinels of a replicated topology) with start, in parallel, and sets them up. start
// runs one node and returns it (nil if nothing runs). Every node started is registered
// on env, so env's Close (also on a failed start) stops them and removes their folder;
// env keeps them for a failover.
func startRedisNodes(ctx context.Context, env *Env, t RedisTopology, start func(nodeSpec) (*redisNode, error)) (*redis.UniversalOptions, error) {
	s, err := newRedisSecrets(t, "")
	if err != nil {
		return nil, err
	}
	env.onClose(func(context.Context) error { return os.RemoveAll(s.dir) })
	n, data := t.nodes(), t.dataNodes()
	specs := make([]nodeSpec, n)
	for i := range specs {
		if i < data {
			specs[i] = nodeSpec{name: fmt.Sprintf("redis-server node %d", i+1), dir: s.dir, probe: s.probe(false),
				args: func(port, bus int) []string { return t.nodeArgs(s, s.dir, port, bus) }}
			continue
		}
		j := i - data
		if err := writeSentinelConfig(s.dir, j, s); err != nil {
			return nil, err
		}
		specs[i] = nodeSpec{name: fmt.Sprintf("redis Sentinel %d", j+1), dir: s.dir, probe: s.probe(true),
			args: func(port, _ int) []string { return t.sentinelArgs(s.dir, j, port) }}
	}
	nodes, errs := make([]*redisNode, n), make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			node, err := start(specs[i])
			if node != nil {
				env.onClose(node.stop)
			}
			nodes[i], errs[i] = node, err
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	addrs, busPorts := make([]string, n), make([]int, n)
	for i, node := range nodes {
		addrs[i], busPorts[i] = node.addr, node.busPort
	}
	if err := t.setUp(ctx, s, addrs, busPorts); err != nil {
		return nil, err
	}
	env.Redis = t.endpoint(addrs)
	env.redisNodes, env.redisTopology, env.redisSecrets = nodes, t, s
	if t.TLS {
		env.Redis.CAFile = filepath.Join(s.dir, "ca.pem")
	}
	seeds := env.Redis.Addrs
	if t.Auth == AuthACL {
		admin := t.clientOptions(&redisSecrets{adminPass: s.adminPass, appPass: s.appPass, tls: s.tls}, seeds)
		admin.Password = s.adminPass
		env.adminRedisOptions = admin
	}
	return t.clientOptions(s, seeds), nil
}

// replicationState picks, from a replica's INFO replication, the fields that say why it
// is not in sync: the link, a sync under way, and how long the link has been down.
func replicationState(info string) string {
	var out []string
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		for _, f := range []string{"master_link_status:", "master_sync_in_progress:", "master_link_down_since_seconds:", "master_last_io_seconds_ago:"} {
			if strings.HasPrefix(line, f) {
				out = append(out, line)
			}
		}
	}
	return strings.Join(out, " ")
}
