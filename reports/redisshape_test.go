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

// TestFailoverSection: a result with a failover block gets a Failover section naming
// its figures, and one without gets none.
func TestFailoverSection(t *testing.T) {
	r := fixtureResult(t)
	has := func() *section {
		for _, s := range runSections(r) {
			if s.title == "Failover" {
				return &s
			}
		}
		return nil
	}
	if has() != nil {
		t.Fatal("a run without a failover fault has a Failover section")
	}
	r.Environment.RedisTopology, r.Environment.Replicas = "replicated", 2
	if got, want := r.Environment.RedisShape(), "replicated: a primary and 2 replicas behind Sentinels, no TLS, no AUTH"; got != want {
		t.Errorf("RedisShape = %q, want %q", got, want)
	}
	r.Failover = &Failover{ReadsFailed: 0, L2RecoveryS: 2.25, L2LastErrorS: -1, WritesLost: 1, WritesChecked: 100,
		Killed: "127.0.0.1:1", Promoted: "127.0.0.1:2"}
	s := has()
	if s == nil {
		t.Fatal("no Failover section")
	}
	var text strings.Builder
	for _, row := range s.rows {
		text.WriteString(strings.Join(row, " | ") + "\n")
	}
	for _, want := range []string{"127.0.0.1:1 → 127.0.0.1:2", "l2_recovery_s) | 2.25 s", "failing | none", "lost | 1 of 100"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("Failover section lacks %q:\n%s", want, text.String())
		}
	}
	r.Failover.L2RecoveryS, r.Failover.WritesLost = -1, -1
	var md bytes.Buffer
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "not before the run ended") || !strings.Contains(md.String(), "not checked") {
		t.Errorf("markdown report does not say what was not measured:\n%s", md.String())
	}
}
