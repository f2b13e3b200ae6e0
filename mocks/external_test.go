package mocks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestExternal points the external provider at services started here: a plain Redis, a
// Redis that needs TLS and a password (as ElastiCache with in-transit encryption and AUTH),
// and a three-node Redis Cluster (as ElastiCache in cluster mode). DynamoDB Local and
// stripe-mock come from a local environment.
func TestExternal(t *testing.T) {
	base := startOrSkip(t, Config{Provider: ProviderLocal})
	redisServer, err := exec.LookPath("redis-server")
	if err != nil {
		redisServer = os.Getenv("CACHEBENCH_REDIS_SERVER")
	}
	ext := func(redisURL string) ExternalConfig {
		return ExternalConfig{
			RedisURL:         redisURL,
			DynamoDBEndpoint: base.DynamoDB.Endpoint, DynamoDBRegion: base.DynamoDB.Region,
			StripeURL: base.Stripe.URL, StripeKey: base.Stripe.Key,
		}
	}

	t.Run("standalone", func(t *testing.T) {
		env := startOrSkip(t, Config{Provider: ProviderExternal, External: ext("redis://" + base.Redis.Addrs[0])})
		if !env.DynamoDB.Emulated {
			t.Error("a loopback DynamoDB endpoint was not treated as DynamoDB Local")
		}
		roundTrip(t, env)
	})

	t.Run("tls with password", func(t *testing.T) {
		dir := t.TempDir()
		caFile, certFile, keyFile := writeTestCerts(t, dir)
		port := mustFreePort(t)
		startRedisProc(t, redisServer, dir, []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile, "--tls-auth-clients", "no",
			"--requirepass", "s3cret", "--save", "", "--appendonly", "no"},
			func(ctx context.Context, hostPort string) error {
				c := redis.NewClient(&redis.Options{Addr: hostPort, Password: "s3cret", MaxRetries: -1,
					TLSConfig: &tls.Config{InsecureSkipVerify: true}}) //nolint:gosec // readiness probe only
				defer c.Close()
				return c.Ping(ctx).Err()
			}, port)

		url := fmt.Sprintf("rediss://:s3cret@127.0.0.1:%d", port)
		// Without the CA the server's certificate must be refused.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if env, err := Start(ctx, Config{Provider: ProviderExternal, External: ext(url)}); err == nil {
			_ = env.Close(ctx)
			t.Fatal("TLS connection with an unknown CA succeeded")
		} else if !strings.Contains(err.Error(), "certificate") {
			t.Errorf("unknown-CA error does not mention the certificate: %v", err)
		}

		cfg := ext(url)
		cfg.RedisCAFile = caFile
		env := startOrSkip(t, Config{Provider: ProviderExternal, External: cfg})
		if !env.Redis.TLS || !strings.Contains(env.Redis.Backend, "TLS") {
			t.Errorf("TLS endpoint not reported as TLS: %+v", env.Redis)
		}
		if strings.Contains(env.Redis.URL, "s3cret") {
			t.Errorf("endpoint URL leaks the password: %s", env.Redis.URL)
		}
		roundTrip(t, env)
	})

	t.Run("cluster", func(t *testing.T) {
		var addrs []string
		for i := 0; i < 3; i++ {
			dir := filepath.Join(t.TempDir(), strconv.Itoa(i))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			port := mustFreePort(t)
			startRedisProc(t, redisServer, dir, []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
				"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"},
				probeRedis, port)
			addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", port))
		}
		cli, err := exec.LookPath("redis-cli")
		if err != nil {
			t.Fatalf("redis-cli is needed to form a cluster: %v", err)
		}
		out, err := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
		}
		waitClusterOK(t, addrs)

		url := "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2]
		env := startOrSkip(t, Config{Provider: ProviderExternal, External: ext(url)})
		if _, ok := env.RedisClient.(*redis.ClusterClient); !ok || !env.Redis.Cluster {
			t.Fatalf("cluster URL gave a %T (Cluster=%v), want a *redis.ClusterClient", env.RedisClient, env.Redis.Cluster)
		}
		roundTrip(t, env)
		// Keys on every node: the client routes each to its slot's owner.
		ctx := context.Background()
		for i := 0; i < 50; i++ {
			k := "cachebench:cluster:" + strconv.Itoa(i)
			if err := env.RedisClient.Set(ctx, k, i, time.Minute).Err(); err != nil {
				t.Fatalf("SET %s: %v", k, err)
			}
		}
		cc := env.RedisClient.(*redis.ClusterClient)
		// ForEachMaster calls back concurrently.
		var withKeys atomic.Int32
		_ = cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			if n.DBSize(ctx).Val() > 0 {
				withKeys.Add(1)
			}
			return nil
		})
		if withKeys.Load() != 3 {
			t.Errorf("keys landed on %d of 3 cluster nodes", withKeys.Load())
		}
	})
}

// startRedisProc runs redis-server with args in dir until the test ends.
func startRedisProc(t *testing.T, bin, dir string, args []string, probe func(context.Context, string) error, port int) {
	t.Helper()
	if bin == "" {
		t.Fatal("redis-server not found: run scripts/provision.sh")
	}
	p, err := startProc("redis-server", bin, args, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(context.Background()) })
	if err := p.waitReady(context.Background(), fmt.Sprintf("127.0.0.1:%d", port), probe, 30*time.Second); err != nil {
		t.Fatal(err)
	}
}

func waitClusterOK(t *testing.T, addrs []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, a := range addrs {
		c := redis.NewClient(&redis.Options{Addr: a})
		for {
			info, err := c.ClusterInfo(context.Background()).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster node %s not ready: %v %s", a, err, info)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
}

func mustFreePort(t *testing.T) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTestCerts writes a CA and a server certificate for IP 127.0.0.1 signed by it.
func writeTestCerts(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cachebench test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	must(err)
	caCert, err := x509.ParseCertificate(caDER)
	must(err)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(err)
	srv := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, caCert, &srvKey.PublicKey, caKey)
	must(err)
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	must(err)
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		must(os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server.key", "EC PRIVATE KEY", keyDER)
}
