package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cachebench/cachebench/mocks/mockstest"
)

// cli is the cachebench binary the tests run, built once per test binary run (a link
// takes seconds, and 17 tests run it) into a directory TestMain removes.
var cli struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cli.dir != "" {
		os.RemoveAll(cli.dir)
	}
	os.Exit(code)
}

// buildCLI compiles cachebench once per test binary run and returns its path. Tests
// only run it: none may change the file.
func buildCLI(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "cachebench-cli-"); cli.err != nil {
			return
		}
		cli.bin = filepath.Join(cli.dir, "cachebench")
		if out, err := exec.Command("go", "build", "-o", cli.bin, ".").CombinedOutput(); err != nil {
			cli.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if cli.err != nil {
		t.Fatal(cli.err)
	}
	return cli.bin
}

// TestBadInputExitsTwo checks that bad flags and values exit with code 2 and say the fix.
func TestBadInputExitsTwo(t *testing.T) {
	bin := buildCLI(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"env", "up", "--env", "bogus"}, `unknown environment "bogus": choose one of auto, docker, local, embedded, external`},
		{[]string{"env", "up", "--no-such-flag"}, "unknown flag: --no-such-flag"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, tc.args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitBadInput {
				t.Fatalf("exit = %v, want code %d; stderr: %s", err, exitBadInput, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.want)
			}
		})
	}
}

// TestEnvUpServesUntilInterrupt starts `cachebench env up`, uses the Redis it prints,
// interrupts it as Ctrl-C does, and checks that it exits 0 and leaves nothing listening.
func TestEnvUpServesUntilInterrupt(t *testing.T) {
	bin := buildCLI(t)
	for _, provider := range []string{"docker", "local", "embedded"} {
		t.Run(provider, func(t *testing.T) {
			cmd := exec.Command(bin, "env", "up", "--env", provider)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill() })

			vars, err := readUntilReady(stdout, 3*time.Minute)
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				if mockstest.Required() {
					t.Fatalf("env up --env %s: %v\nstderr: %s", provider, err, stderr.String())
				}
				t.Skipf("env up --env %s unavailable: %v", provider, err)
			}
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			redisURL := vars["CACHEBENCH_REDIS_URL"]
			opts, err := redis.ParseURL(redisURL)
			if err != nil {
				t.Fatalf("printed CACHEBENCH_REDIS_URL %q: %v", redisURL, err)
			}
			c := redis.NewClient(opts)
			if err := c.Set(context.Background(), "k", "v", time.Minute).Err(); err != nil {
				t.Fatalf("SET on the printed Redis: %v", err)
			}
			c.Close()
			for _, k := range []string{"CACHEBENCH_DYNAMODB_ENDPOINT", "CACHEBENCH_STRIPE_URL", "CACHEBENCH_STRIPE_KEY"} {
				if vars[k] == "" {
					t.Errorf("env up did not print %s", k)
				}
			}

			if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("env up exited with %v after Ctrl-C; stderr: %s", err, stderr.String())
				}
			case <-time.After(time.Minute):
				t.Fatal("env up did not exit within a minute of Ctrl-C")
			}
			if conn, err := net.DialTimeout("tcp", opts.Addr, time.Second); err == nil {
				conn.Close()
				t.Errorf("Redis at %s still answers after env up stopped", opts.Addr)
			}
		})
	}
}

// readUntilReady reads env up's output until its "ready" line and returns the exported
// variables it printed.
func readUntilReady(r io.Reader, timeout time.Duration) (map[string]string, error) {
	type result struct {
		vars map[string]string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		vars := map[string]string{}
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			if kv, ok := strings.CutPrefix(line, "export "); ok {
				k, v, _ := strings.Cut(kv, "=")
				vars[k] = v
			}
			if strings.HasPrefix(line, "ready") {
				ch <- result{vars, nil}
				return
			}
		}
		ch <- result{nil, errors.New("exited before it was ready")}
	}()
	select {
	case res := <-ch:
		return res.vars, res.err
	case <-time.After(timeout):
		return nil, errors.New("not ready in time")
	}
}
