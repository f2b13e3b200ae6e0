package main

import (
	"context"
	stdlog "log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	zlog "github.com/rs/zerolog/log"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// TestLibraryLogGoesToTheFile checks that the loggers libraries write through (the
// standard logger, zerolog's global one, go-redis's, testcontainers') end up in
// cachebench.log.
func TestLibraryLogGoesToTheFile(t *testing.T) {
	dir := t.TempDir()
	l, err := openLibraryLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	stdlog.Print("http: Accept error: too many open files")
	zlog.Warn().Msg("toxic stopped")
	tclog.Printf("Testcontainers/Docker info: %s", "banner")
	// go-redis logs a dial that failed every attempt through its own logger. Port 1 on
	// loopback refuses at once.
	rc := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialerRetries: 1, MaxRetries: -1})
	if err := rc.Ping(context.Background()).Err(); err == nil {
		t.Fatal("a ping of 127.0.0.1:1 succeeded")
	}
	_ = rc.Close()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "cachebench.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Accept error", "toxic stopped", "testcontainers: ", "Testcontainers/Docker info: banner",
		"go-redis: ", "connection pool: failed to dial"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("cachebench.log lacks %q:\n%s", want, data)
		}
	}
}

// TestRunLibraryLogNotOnTerminal runs a short scenario whose Redis is down for most of
// it, so go-redis logs its failed dials: they are in DIR/cachebench.log, and neither on
// stdout nor on stderr, where they would break the progress line. About 5 s.
func TestRunLibraryLogNotOnTerminal(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	sc := filepath.Join(dir, "noisy.yaml")
	if err := os.WriteFile(sc, []byte(`name: noisy
description: Redis down for most of a short run, so go-redis logs its failed dials
seed: 1
duration: 3s
warmup: 0s
arrival: {model: constant, rate: 50}
keys: {object: customer, count: 200, distribution: uniform}
cache:
  l1: {enabled: false}
  l2: {enabled: true, ttl: 5m}
  l3: {enabled: false}
lambda: {enabled: false}
network: aws-same-az
stripe: {mode: none}
faults:
  - {at: 0s, for: 2500ms, target: redis, kind: down}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	code, stdout, stderr := exitCode(t, exec.Command(bin, "run", sc, "--env", "embedded", "--out", out))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	data, err := os.ReadFile(filepath.Join(out, "cachebench.log"))
	if err != nil {
		t.Fatal(err)
	}
	const line = "connection pool: failed to dial"
	if !strings.Contains(string(data), "go-redis: ") || !strings.Contains(string(data), line) {
		t.Errorf("cachebench.log lacks go-redis's %q lines:\n%s", line, data)
	}
	for name, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
		if strings.Contains(s, line) || strings.Contains(s, "go-redis") {
			t.Errorf("%s carries the libraries' log lines:\n%s", name, s)
		}
	}
}
