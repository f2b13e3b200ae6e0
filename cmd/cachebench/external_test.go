package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestEnvUpExternalMissingEndpoint checks that `env up --env external` without endpoints
// is bad input (exit 2) naming the variables and flags to set, as `run` is.
func TestEnvUpExternalMissingEndpoint(t *testing.T) {
	bin := buildCLI(t)
	cmd := exec.Command(bin, "env", "up", "--env", "external")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CACHEBENCH_REDIS") && !strings.HasPrefix(kv, "CACHEBENCH_DYNAMODB") &&
			!strings.HasPrefix(kv, "CACHEBENCH_STRIPE") && !strings.HasPrefix(kv, "AWS_REGION=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	badInput(t, cmd, "CACHEBENCH_REDIS_URL", "--redis-url", "CACHEBENCH_STRIPE_KEY", "--stripe-key")
}
