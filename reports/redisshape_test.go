package reports

import (
	"bytes"
	"strings"
	"testing"
)

// TestEnvironmentNamesRedisShape: the environment line of the summary and of the
// markdown report names the L2's topology, shards, replicas, TLS and AUTH.
func TestEnvironmentNamesRedisShape(t *testing.T) {
	r := fixtureResult(t)
	r.Environment.RedisTopology, r.Environment.Shards, r.Environment.Replicas = "cluster", 3, 1
	r.Environment.TLS, r.Environment.Auth = true, "acl"
	want := "cluster of 3 shards × (1 + 1 replicas), TLS, AUTH acl"
	if got := r.Environment.RedisShape(); got != want {
		t.Errorf("RedisShape = %q, want %q", got, want)
	}
	var sum bytes.Buffer
	WriteSummary(&sum, r)
	if !strings.Contains(sum.String(), want) {
		t.Errorf("summary lacks %q:\n%s", want, sum.String())
	}
	if got := environmentSection(r).rows[1][1]; !strings.Contains(got, want) {
		t.Errorf("environment section's L2 row %q lacks %q", got, want)
	}
	r.Environment = Environment{RedisTopology: "standalone"}
	if got := r.Environment.RedisShape(); got != "standalone, no TLS, no AUTH" {
		t.Errorf("plain standalone: %q", got)
	}
	if got := (Environment{}).RedisShape(); got != "" {
		t.Errorf("a result of an earlier version: %q, want nothing", got)
	}
}
