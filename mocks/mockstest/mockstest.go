// Package mockstest gives tests in any package the services of a mocks provider.
//
//	env := mockstest.Start(t, mocks.ProviderDocker)
//	env.RedisClient.Set(ctx, "k", "v", 0)
package mockstest

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks"
)

// Required reports whether a service that cannot start must fail the test rather than
// skip it: under CI=true, and under `make test` (CACHEBENCH_REQUIRE_SERVICES=1).
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("CACHEBENCH_REQUIRE_SERVICES") == "1"
}

// Start starts an environment of the given provider for t and closes it when t ends. A
// provider that cannot start fails t when Required, and skips it with the reason otherwise.
func Start(t testing.TB, provider string) *mocks.Env {
	t.Helper()
	return StartConfig(t, mocks.Config{Provider: provider})
}

// StartConfig is Start with a full configuration.
func StartConfig(t testing.TB, cfg mocks.Config) *mocks.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env, err := mocks.Start(ctx, cfg)
	if err != nil {
		if Required() {
			t.Fatalf("environment %q did not start (services are required here): %v", cfg.Provider, err)
		}
		t.Skipf("environment %q unavailable (set CI=true to make this a failure): %v", cfg.Provider, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := env.Close(ctx); err != nil {
			t.Errorf("close %s environment: %v", cfg.Provider, err)
		}
	})
	return env
}

// Shared is one environment of a provider for a whole test binary, started on first use.
// Declare it at package level in a _test.go file and call Close from TestMain after m.Run.
// Use it where many tests need the same services and each starting its own would cost
// minutes.
type Shared struct {
	Provider string
	// Config is the rest of the environment's configuration (its Redis topology, say);
	// Provider overrides its Provider.
	Config mocks.Config
	once   sync.Once
	env    *mocks.Env
	err    error
}

// Get returns the shared environment, starting it on first use.
func (s *Shared) Get(t testing.TB) *mocks.Env {
	t.Helper()
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		cfg := s.Config
		cfg.Provider = s.Provider
		s.env, s.err = mocks.Start(ctx, cfg)
	})
	if s.err != nil {
		if Required() {
			t.Fatalf("environment %q did not start (services are required here): %v", s.Provider, s.err)
		}
		t.Skipf("environment %q unavailable (set CI=true to make this a failure): %v", s.Provider, s.err)
	}
	return s.env
}

// Close stops the shared environment if it was started.
func (s *Shared) Close() {
	if s.env != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.env.Close(ctx)
	}
}
