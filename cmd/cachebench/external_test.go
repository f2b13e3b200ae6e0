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
	code, stdout, stderr := exitCode(t, cmd)
	if code != exitBadInput {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitBadInput, stdout, stderr)
	}
	for _, w := range []string{"CACHEBENCH_REDIS_URL", "--redis-url", "CACHEBENCH_STRIPE_KEY", "--stripe-key"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q lacks %q", stderr, w)
		}
	}
}
