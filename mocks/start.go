package mocks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Config selects and configures the provider that Start uses.
type Config struct {
	// Provider is auto (the default), docker, local, external or embedded.
	Provider string
	Docker   DockerConfig
	Local    LocalConfig
	External ExternalConfig
	// Log receives auto's choice and why it passed over the others. Nil discards it.
	Log io.Writer
	// Redis is the Redis topology, TLS and AUTH that docker and local start (the
	// scenario's cache.l2). Embedded runs only the zero value; external reports what its
	// URL reaches.
	Redis RedisTopology
	// Embedded configures the embedded provider's stripe-mock.
	Embedded EmbeddedConfig
	// ServerLog receives the error lines (accept errors, bad requests) of the HTTP
	// servers this process runs for the environment (the embedded stripe-mock); nil
	// leaves them to the log package's standard logger (stderr).
	ServerLog io.Writer
}

// Start starts (or, for external, connects to) Redis, DynamoDB and a Stripe API, and
// returns them with ready clients. The caller must Close the Env, also on error paths;
// Start itself stops whatever it started when it fails.
//
// auto tries docker, then local, then embedded, and writes to cfg.Log which it chose and
// why it passed over the others.
func Start(ctx context.Context, cfg Config) (*Env, error) {
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	if err := cfg.Redis.Validate(); err != nil {
		return nil, err
	}
	cfg.Redis = cfg.Redis.normal()
	switch cfg.Provider {
	case "", ProviderAuto:
		var reasons []string
		for _, name := range []string{ProviderDocker, ProviderLocal, ProviderEmbedded} {
			env, err := startOne(ctx, name, cfg)
			if err == nil {
				fmt.Fprintf(log, "environment: %s", name)
				if len(reasons) > 0 {
					fmt.Fprintf(log, " (passed over: %s)", strings.Join(reasons, "; "))
				}
				fmt.Fprintln(log)
				return env, nil
			}
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			reasons = append(reasons, fmt.Sprintf("%s: %s", name, firstLine(err)))
		}
		return nil, fmt.Errorf("auto: no environment could start:\n  %s", strings.Join(reasons, "\n  "))
	case ProviderDocker, ProviderLocal, ProviderEmbedded, ProviderExternal:
		return startOne(ctx, cfg.Provider, cfg)
	default:
		return nil, fmt.Errorf("unknown environment %q: choose one of auto, %s", cfg.Provider, strings.Join(Providers, ", "))
	}
}

func startOne(ctx context.Context, name string, cfg Config) (*Env, error) {
	env, err := startProvider(ctx, name, cfg)
	if err == nil && env.Redis.Topology == "" {
		env.Redis.Topology, env.Redis.Shards, env.Redis.Auth = TopologyStandalone, 1, AuthNone
	}
	return env, err
}

func startProvider(ctx context.Context, name string, cfg Config) (*Env, error) {
	switch name {
	case ProviderDocker:
		return startDocker(ctx, cfg.Docker, cfg.Redis)
	case ProviderLocal:
		return startLocal(ctx, cfg.Local, cfg.Redis)
	case ProviderEmbedded:
		if !cfg.Redis.Plain() {
			return nil, configError{fmt.Errorf("embedded: the embedded Redis (miniredis) runs one standalone server without TLS or AUTH, not %s: run with --env local or --env docker, which start real redis-server processes or containers for it", cfg.Redis)}
		}
		return startEmbedded(ctx, cfg)
	case ProviderExternal:
		return startExternal(ctx, cfg.External)
	}
	return nil, errors.New("unreachable")
}

// firstLine shortens an error to its first line, for auto's one-line reasons.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
