package mocks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	"github.com/redis/go-redis/v9"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Default images for the docker provider: the public images a user would pull.
const (
	DefaultRedisImage      = "redis:7"
	DefaultDynamoDBImage   = "amazon/dynamodb-local:latest"
	DefaultStripeMockImage = "stripe/stripe-mock:latest"
)

// Local stand-ins for the public images, built by scripts/provision.sh where no container
// registry answers. The docker provider uses one when its public image is absent.
const (
	standinRedisImage      = "cachebench-local/redis:7"
	standinDynamoDBImage   = "cachebench-local/dynamodb-local:1.25.1"
	standinStripeMockImage = "cachebench-local/stripe-mock:v0.203.0"
)

// containerLabel marks every container cachebench starts, so `cachebench env down` can
// find any left behind by a process that was killed.
const containerLabel = "org.cachebench.managed"

// DockerConfig configures the docker provider. Empty image names mean: the value of
// CACHEBENCH_REDIS_IMAGE, CACHEBENCH_DYNAMODB_IMAGE or CACHEBENCH_STRIPE_MOCK_IMAGE, else
// the public image if the engine has it, else its local stand-in if the engine has that,
// else the public image (pulled).
type DockerConfig struct {
	RedisImage      string
	DynamoDBImage   string
	StripeMockImage string
	// StartTimeout bounds the wait for each container to answer. Zero means 90s.
	StartTimeout time.Duration
}

// dockerEnvDefaults sets testcontainers' settings that these machines need, unless the user
// set them: services are reached on 127.0.0.1 only (testcontainers would otherwise dial the
// default gateway when it believes it runs inside a container), and no reaper container
// (cachebench terminates every container it starts, and `env down` removes leftovers).
func dockerEnvDefaults() {
	for k, v := range map[string]string{
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
		"TESTCONTAINERS_RYUK_DISABLED": "true",
	} {
		if _, ok := os.LookupEnv(k); !ok {
			_ = os.Setenv(k, v)
		}
	}
}

// dockerClient returns a client for the engine, or an error saying how to get one.
func dockerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	dockerEnvDefaults()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("docker: no engine: %w (start Docker, or run scripts/provision.sh, or choose --env local|embedded)", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("docker: the engine does not answer: %w (start Docker, or run scripts/provision.sh, or choose --env local|embedded)", err)
	}
	return cli, nil
}

// pickImage applies DockerConfig's rule for one service.
func pickImage(ctx context.Context, cli *testcontainers.DockerClient, given, envVar, public, standin string) string {
	if given != "" {
		return given
	}
	if v := os.Getenv(envVar); v != "" {
		return v
	}
	for _, img := range []string{public, standin} {
		if _, err := cli.ImageInspect(ctx, img); err == nil {
			return img
		}
	}
	return public
}

// startDocker starts Redis, DynamoDB Local and stripe-mock as containers, in parallel.
//
// A topology other than one plain standalone server runs its nodes from the same Redis
// image (see startDockerRedis).
func startDocker(ctx context.Context, cfg DockerConfig, topo RedisTopology) (*Env, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return nil, err
	}
	redisImage := pickImage(ctx, cli, cfg.RedisImage, "CACHEBENCH_REDIS_IMAGE", DefaultRedisImage, standinRedisImage)
	ddbImage := pickImage(ctx, cli, cfg.DynamoDBImage, "CACHEBENCH_DYNAMODB_IMAGE", DefaultDynamoDBImage, standinDynamoDBImage)
	stripeImage := pickImage(ctx, cli, cfg.StripeMockImage, "CACHEBENCH_STRIPE_MOCK_IMAGE", DefaultStripeMockImage, standinStripeMockImage)
	_ = cli.Close()

	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 90 * time.Second
	}
	specs := []containerSpec{
		{
			name: "redis", image: redisImage, port: "6379/tcp",
			cmd:   []string{"redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--save", "", "--appendonly", "no"},
			probe: probeRedis,
		},
		{
			name: "dynamodb", image: ddbImage, port: "8000/tcp",
			// Both the public image and the stand-in run java in the folder that holds
			// the jar and its native libraries.
			cmd:   dynamoDBLocalArgs(8000),
			probe: probeDynamoDB,
		},
		{
			name: "stripe-mock", image: stripeImage, port: "12111/tcp",
			probe: probeStripe,
			// stripe-mock prints three lines per request; Docker's log pipeline
			// (containerd-shim, dockerd) then spent more CPU on them than stripe-mock
			// on its answers, on the machine that runs the benchmark.
			noLogs: os.Getenv("CACHEBENCH_DEBUG") != "1",
		},
	}

	env := &Env{Provider: ProviderDocker}
	var topoOpts *redis.UniversalOptions
	if !topo.Plain() {
		// The cluster or secured Redis replaces the plain Redis container (specs[0]).
		topoOpts, err = startDockerRedis(ctx, env, redisImage, timeout, topo)
		if err != nil {
			env.closeQuietly()
			return nil, fmt.Errorf("docker: %w", err)
		}
	}
	started := make([]string, len(specs))
	var wg sync.WaitGroup
	errs := make([]error, len(specs))
	var mu sync.Mutex
	for i := range specs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i == 0 && topoOpts != nil {
				return
			}
			c, hostPort, err := specs[i].run(ctx, timeout)
			if c != nil {
				mu.Lock()
				env.onClose(func(ctx context.Context) error {
					if err := testcontainers.TerminateContainer(c); err != nil {
						return fmt.Errorf("docker: terminate %s container: %w", specs[i].name, err)
					}
					return nil
				})
				mu.Unlock()
			}
			errs[i] = err
			started[i] = hostPort
		}(i)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		env.closeQuietly()
		return nil, err
	}

	ropts := topoOpts
	if ropts == nil {
		var rep RedisEndpoint
		ropts, rep, err = redisOptionsFrom(redisConfig{URL: "redis://" + started[0]})
		if err != nil {
			env.closeQuietly()
			return nil, err
		}
		env.Redis = rep
	}
	env.Redis.Backend = "redis (docker " + redisImage + ")"
	env.DynamoDB = DynamoDBEndpoint{Endpoint: "http://" + started[1], Region: "us-east-1", Emulated: true,
		Backend: "DynamoDB Local (docker " + ddbImage + ")"}
	env.Stripe = StripeEndpoint{URL: "http://" + started[2], Key: DefaultStripeKey,
		Backend: "stripe-mock (docker " + stripeImage + ")"}
	if err := env.connect(ctx, ropts); err != nil {
		env.closeQuietly()
		return nil, fmt.Errorf("docker: %w", err)
	}
	env.Redis.Backend = redisVersion(ctx, env.RedisClient) + " (docker " + redisImage + ")"
	if topoOpts != nil {
		env.Redis.Backend = redisVersion(ctx, env.RedisClient) + " (docker " + redisImage + ", host network on 127.0.0.1)"
	}
	return env, nil
}

// startDockerRedis runs the nodes of t as containers of image on the host's network,
// each bound to 127.0.0.1 only, with the certificates' folder mounted read-only at the
// same path: so the addresses the nodes announce to each other and to clients (cluster
// slots, replication) are the ones this process dials, with no port mapping between.
// Each container is terminated at env's Close, also when the start fails half way.
func startDockerRedis(ctx context.Context, env *Env, image string, timeout time.Duration, t RedisTopology) (*redis.UniversalOptions, error) {
	return startRedisNodes(ctx, env, t, func(ns nodeSpec) (*redisNode, error) {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		bus, err := freePort()
		if err != nil {
			return nil, err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		req := testcontainers.ContainerRequest{
			Image:  image,
			Cmd:    append([]string{"redis-server"}, ns.args(port, bus)...),
			Labels: map[string]string{containerLabel: "true", containerLabel + ".service": ns.name},
			HostConfigModifier: func(hc *container.HostConfig) {
				hc.NetworkMode = "host"
				hc.Binds = append(hc.Binds, ns.dir+":"+ns.dir)
			},
			WaitingFor: &probeStrategy{addr: addr, probe: ns.probe, timeout: timeout},
		}
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true, Logger: containerLogger()})
		var node *redisNode
		if c != nil {
			node = &redisNode{addr: addr, busPort: bus,
				stop: func(context.Context) error {
					if err := testcontainers.TerminateContainer(c); err != nil {
						return fmt.Errorf("docker: terminate %s container: %w", ns.name, err)
					}
					return nil
				},
				kill: func(ctx context.Context) error {
					var now time.Duration // no grace: SIGKILL at once, as a crash
					return c.Stop(ctx, &now)
				},
				restart: c.Start,
			}
		}
		if err != nil {
			msg := fmt.Sprintf("start %s from image %s: %v", ns.name, image, err)
			if c != nil {
				msg += containerLogTail(ctx, c)
			}
			return node, errors.New(msg)
		}
		return node, nil
	})
}

// containerSpec is one service to run as a container.
type containerSpec struct {
	name, image, port string
	cmd               []string
	probe             func(ctx context.Context, hostPort string) error
	// noLogs turns the container's log off (Docker's "none" driver).
	noLogs bool
}

// run starts the container, published on 127.0.0.1 only, and waits until probe succeeds.
// It returns the container even on error so the caller can terminate it.
func (s containerSpec) run(ctx context.Context, timeout time.Duration) (testcontainers.Container, string, error) {
	req := testcontainers.ContainerRequest{
		Image:        s.image,
		ExposedPorts: []string{s.port},
		Cmd:          s.cmd,
		Labels:       map[string]string{containerLabel: "true", containerLabel + ".service": s.name},
		HostConfigModifier: func(hc *container.HostConfig) {
			p := network.MustParsePort(s.port)
			if hc.PortBindings == nil {
				hc.PortBindings = network.PortMap{}
			}
			hc.PortBindings[p] = []network.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}
			if s.noLogs {
				hc.LogConfig = container.LogConfig{Type: "none"}
			}
		},
		WaitingFor: &probeStrategy{port: s.port, probe: s.probe, timeout: timeout},
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: req, Started: true, Logger: containerLogger()})
	if err != nil {
		msg := fmt.Sprintf("docker: start %s from image %s: %v", s.name, s.image, err)
		if strings.Contains(err.Error(), "pull") || strings.Contains(err.Error(), "No such image") {
			msg += " (no such image and none could be pulled: run scripts/provision.sh to build local stand-ins, or set CACHEBENCH_" +
				strings.ToUpper(strings.ReplaceAll(s.name, "-", "_")) + "_IMAGE)"
		}
		if c != nil {
			msg += containerLogTail(ctx, c)
		}
		return c, "", errors.New(msg)
	}
	mp, err := c.MappedPort(ctx, s.port)
	if err != nil {
		return c, "", fmt.Errorf("docker: %s: mapped port: %w", s.name, err)
	}
	return c, fmt.Sprintf("127.0.0.1:%d", mp.Num()), nil
}

// containerLogger keeps testcontainers' per-container progress lines out of the way unless
// CACHEBENCH_DEBUG=1.
func containerLogger() tclog.Logger {
	if os.Getenv("CACHEBENCH_DEBUG") == "1" {
		return tclog.Default()
	}
	return tclog.NewNoopLogger()
}

// containerLogTail returns the last lines of a container's log, for an error message.
func containerLogTail(ctx context.Context, c testcontainers.Container) string {
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	rc, err := c.Logs(lctx)
	if err != nil {
		return ""
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	return "\n--- container log (last lines) ---\n" + lastLines(string(bytes.ToValidUTF8(b, nil)), 20)
}

// probeStrategy is a testcontainers wait strategy that proves the service answers its own
// protocol (Redis PING, DynamoDB ListTables, a stripe-mock GET) on the published port.
type probeStrategy struct {
	port    string
	addr    string // host:port to probe instead of the mapped port (host network)
	probe   func(ctx context.Context, hostPort string) error
	timeout time.Duration
}

// WaitUntilReady implements wait.Strategy.
func (p *probeStrategy) WaitUntilReady(ctx context.Context, target wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var last error
	for {
		if st, err := target.State(ctx); err == nil && !st.Running {
			return fmt.Errorf("container exited (code %d) before it answered", st.ExitCode)
		}
		hostPort := p.addr
		var err error
		if hostPort == "" {
			var mp network.Port
			if mp, err = target.MappedPort(ctx, p.port); err == nil {
				hostPort = fmt.Sprintf("127.0.0.1:%d", mp.Num())
			}
		}
		if err == nil {
			pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
			last = p.probe(pctx, hostPort)
			pcancel()
			if last == nil {
				return nil
			}
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no answer within %s: %w", p.timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Down removes every container that cachebench started and did not terminate (a process
// killed before its cleanup ran). It returns how many it removed.
func Down(ctx context.Context) (int, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", containerLabel+"=true")})
	if err != nil {
		return 0, fmt.Errorf("docker: list containers: %w", err)
	}
	n := 0
	var errs []error
	for _, c := range list.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("docker: remove %s: %w", c.ID[:12], err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
