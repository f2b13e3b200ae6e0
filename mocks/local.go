package mocks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// LocalConfig configures the local provider: the programs it runs as child processes.
// Empty fields are looked up: first the environment variable named on the field, then PATH,
// then the folder scripts/provision.sh installs into ($CACHEBENCH_HOME, by default
// ~/.cache/cachebench).
type LocalConfig struct {
	// RedisServer is the redis-server binary (CACHEBENCH_REDIS_SERVER).
	RedisServer string
	// Java is the java binary that runs DynamoDB Local (CACHEBENCH_JAVA).
	Java string
	// DynamoDBLocalDir is the folder holding DynamoDBLocal.jar and DynamoDBLocal_lib
	// (CACHEBENCH_DYNAMODB_LOCAL_DIR).
	DynamoDBLocalDir string
	// StripeMock is the stripe-mock binary (CACHEBENCH_STRIPE_MOCK).
	StripeMock string
	// StartTimeout bounds the wait for each program to answer. Zero means 60s.
	StartTimeout time.Duration
}

// Home returns the folder scripts/provision.sh installs tools into: $CACHEBENCH_HOME, else
// the user's cache folder plus "cachebench".
func Home() string {
	if h := os.Getenv("CACHEBENCH_HOME"); h != "" {
		return h
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "cachebench")
	}
	return filepath.Join(os.TempDir(), "cachebench")
}

// resolve fills the empty fields of c, or says which program is missing and how to get it.
func (c LocalConfig) resolve() (LocalConfig, error) {
	var errs []error
	find := func(given *string, envVar, name, inHome, fix string) {
		if *given == "" {
			*given = os.Getenv(envVar)
		}
		if *given == "" {
			if p, err := exec.LookPath(name); err == nil {
				*given = p
			} else if inHome != "" {
				if _, err := os.Stat(inHome); err == nil {
					*given = inHome
				}
			}
		}
		if *given == "" {
			errs = append(errs, fmt.Errorf("local: %s not found on PATH nor in %s: %s, or set %s", name, Home(), fix, envVar))
			return
		}
		if _, err := os.Stat(*given); err != nil {
			if p, lerr := exec.LookPath(*given); lerr == nil {
				*given = p
				return
			}
			errs = append(errs, fmt.Errorf("local: %s %q: %w (%s, or fix %s)", name, *given, err, fix, envVar))
		}
	}
	find(&c.RedisServer, "CACHEBENCH_REDIS_SERVER", "redis-server", "", "install it (apt-get install redis-server) or run scripts/provision.sh")
	find(&c.Java, "CACHEBENCH_JAVA", "java", "", "install Java 17 (apt-get install openjdk-17-jre-headless) or run scripts/provision.sh")
	find(&c.StripeMock, "CACHEBENCH_STRIPE_MOCK", "stripe-mock", filepath.Join(Home(), "bin", "stripe-mock"),
		"run scripts/provision.sh (it builds stripe-mock)")
	if c.DynamoDBLocalDir == "" {
		c.DynamoDBLocalDir = os.Getenv("CACHEBENCH_DYNAMODB_LOCAL_DIR")
	}
	if c.DynamoDBLocalDir == "" {
		c.DynamoDBLocalDir = filepath.Join(Home(), "dynamodb-local")
	}
	if _, err := os.Stat(filepath.Join(c.DynamoDBLocalDir, "DynamoDBLocal.jar")); err != nil {
		errs = append(errs, fmt.Errorf("local: DynamoDBLocal.jar not found in %s: run scripts/provision.sh (it fetches DynamoDB Local), or set CACHEBENCH_DYNAMODB_LOCAL_DIR to the folder holding DynamoDBLocal.jar", c.DynamoDBLocalDir))
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 60 * time.Second
	}
	return c, errors.Join(errs...)
}

// startLocal runs redis-server, DynamoDB Local and stripe-mock as child processes on free
// loopback ports, in parallel.
//
// A topology other than one plain standalone server starts its nodes the same way (see
// startLocalRedis).
func startLocal(ctx context.Context, cfg LocalConfig, topo RedisTopology) (*Env, error) {
	cfg, err := cfg.resolve()
	if err != nil {
		return nil, err
	}
	procs := []localSpec{
		{name: "redis-server", probe: probeRedis, args: func(ports []int) (string, []string, string) {
			return cfg.RedisServer, []string{"--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1", "--save", "",
				"--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes"}, ""
		}},
		{name: "DynamoDB Local", probe: probeDynamoDB, args: func(ports []int) (string, []string, string) {
			return cfg.Java, dynamoDBLocalArgs(ports[0]), cfg.DynamoDBLocalDir
		}},
		{name: "stripe-mock", probe: probeStripe, ports: 2, args: func(ports []int) (string, []string, string) {
			// Both addresses: with only -http-addr, stripe-mock also opens HTTPS on *:12112.
			return cfg.StripeMock, []string{"-http-addr", fmt.Sprintf("127.0.0.1:%d", ports[0]),
				"-https-addr", fmt.Sprintf("127.0.0.1:%d", ports[1])}, ""
		}},
	}

	env := &Env{Provider: ProviderLocal}
	// A cluster, replicated or secured Redis replaces the plain redis-server (procs[0]),
	// started beside the other services.
	var topoOpts *redis.UniversalOptions
	addrs := make([]string, len(procs))
	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i := range procs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i == 0 && !topo.Plain() {
				topoOpts, errs[i] = startLocalRedis(ctx, env, cfg, topo)
				return
			}
			p, addr, err := procs[i].start(ctx, cfg.StartTimeout)
			if p != nil {
				env.onClose(p.stop)
			}
			addrs[i], errs[i] = addr, err
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
		ropts, rep, err = redisOptionsFrom(redisConfig{URL: "redis://" + addrs[0]})
		if err != nil {
			env.closeQuietly()
			return nil, err
		}
		env.Redis = rep
		env.Redis.Topology, env.Redis.Shards, env.Redis.Auth = TopologyStandalone, 1, AuthNone
	}
	env.DynamoDB = DynamoDBEndpoint{Endpoint: "http://" + addrs[1], Region: "us-east-1", Emulated: true,
		Backend: "DynamoDB Local (local process, " + cfg.DynamoDBLocalDir + ")"}
	env.Stripe = StripeEndpoint{URL: "http://" + addrs[2], Key: DefaultStripeKey,
		Backend: "stripe-mock (local process, " + cfg.StripeMock + ")"}
	if err := env.connect(ctx, ropts); err != nil {
		env.closeQuietly()
		return nil, fmt.Errorf("local: %w", err)
	}
	env.Redis.Backend = redisVersion(ctx, env.RedisClient) + " (local process, " + cfg.RedisServer + ")"
	if topoOpts != nil {
		env.Redis.Backend = redisVersion(ctx, env.RedisClient) + " (local processes, " + cfg.RedisServer + ")"
	}
	return env, nil
}

// dynamoDBLocalJVM are the JVM options DynamoDB Local runs with, as a child process and in
// its container. An environment lives for a test or a run of minutes on a small machine,
// where the JVM's defaults cost more than they give: C1 alone (TieredStopAtLevel=1)
// compiles DynamoDB Local's hot paths at once instead of compiling them a second time
// with C2 on a core the load needs, and the serial collector needs no GC threads for a
// heap this small. -Xshare:auto maps the JDK's class-data archive where there is one.
var dynamoDBLocalJVM = []string{"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xshare:auto"}

// dynamoDBLocalArgs is java's command line for DynamoDB Local listening on port, run in
// the folder that holds DynamoDBLocal.jar and DynamoDBLocal_lib.
func dynamoDBLocalArgs(port int) []string {
	return append(append([]string(nil), dynamoDBLocalJVM...),
		"-Djava.library.path=./DynamoDBLocal_lib", "-jar", "DynamoDBLocal.jar", "-inMemory", "-port", strconv.Itoa(port))
}

// localSpec is one program to run.
type localSpec struct {
	name  string
	ports int // how many free ports it needs; 0 means 1
	args  func(ports []int) (bin string, args []string, dir string)
	probe func(ctx context.Context, hostPort string) error
}

// start runs the program and waits until it answers on its first port. A port taken by
// someone else between our check and the program's bind is retried with new ports.
func (s localSpec) start(ctx context.Context, timeout time.Duration) (*localProc, string, error) {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		n := max(s.ports, 1)
		ports := make([]int, n)
		for i := range ports {
			p, err := freePort()
			if err != nil {
				return nil, "", err
			}
			ports[i] = p
		}
		bin, args, dir := s.args(ports)
		p, err := startProc(s.name, bin, args, dir)
		if err != nil {
			return nil, "", err
		}
		addr := fmt.Sprintf("127.0.0.1:%d", ports[0])
		err = p.waitReady(ctx, addr, s.probe, timeout)
		if err == nil {
			return p, addr, nil
		}
		_ = p.stop(context.Background())
		last = err
		if !strings.Contains(strings.ToLower(p.logs.String()), "address already in use") {
			break
		}
	}
	return nil, "", last
}

// localProc is a running child process with its output kept for error messages.
type localProc struct {
	name string
	cmd  *exec.Cmd
	logs *tailBuffer
	done chan struct{}
	err  error // exit error, valid after done is closed
}

func startProc(name, bin string, args []string, dir string) (*localProc, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	logs := &tailBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = logs, logs
	setProcAttrs(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("local: start %s (%s): %w", name, bin, err)
	}
	p := &localProc{name: name, cmd: cmd, logs: logs, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitReady polls probe until it succeeds, the process exits, or timeout passes. Its
// errors quote the program's command line and the end of its output.
func (p *localProc) waitReady(ctx context.Context, addr string, probe func(context.Context, string) error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		select {
		case <-p.done:
			return p.failure(fmt.Sprintf("exited (%v) before it answered", p.err))
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
		last = probe(pctx, addr)
		pcancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return p.failure(fmt.Sprintf("did not answer on %s within %s (last error: %v)", addr, timeout, last))
		case <-p.done:
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (p *localProc) failure(what string) error {
	return fmt.Errorf("local: %s %s\ncommand: %s\n--- %s output (last lines) ---\n%s",
		p.name, what, strings.Join(p.cmd.Args, " "), p.name, lastLines(p.logs.String(), 20))
}

// stop asks the process to end (SIGTERM), and kills it after 5 seconds.
func (p *localProc) stop(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
