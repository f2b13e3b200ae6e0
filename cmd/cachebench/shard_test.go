package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachebench/cachebench/bench"
)

func TestParseShard(t *testing.T) {
	for in, want := range map[string]bench.Shard{
		"0/1": {Index: 0, Count: 1}, "0/4": {Index: 0, Count: 4}, "3/4": {Index: 3, Count: 4}, " 2/3 ": {Index: 2, Count: 3},
	} {
		got, err := parseShard(in)
		if err != nil || got != want {
			t.Errorf("parseShard(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for in, fix := range map[string]string{
		"3/2": "from 0 to 1", "-1/4": "from 0 to 3", "x": "INDEX/COUNT", "4/4": "from 0 to 3",
		"1/0": "from 1 to", "a/b": "count", "1/": "count", "/4": "index", "0/100001": "from 1 to 100000",
	} {
		_, err := parseShard(in)
		if err == nil || !strings.Contains(err.Error(), fix) {
			t.Errorf("parseShard(%q): %v, want an error saying %q", in, err, fix)
		}
	}
}

func TestResolveShard(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		flag string
		set  bool
		env  func(string) string
		want bench.Shard
	}{
		{"", false, env(), bench.Shard{}},
		{"", false, env(envJobIndex, "2", envShards, "4"), bench.Shard{Index: 2, Count: 4}},
		{"", false, env(envBatchIndex, "1", envShards, "3"), bench.Shard{Index: 1, Count: 3}},
		{"", false, env(envJobIndex, "0", envBatchIndex, "5", envShards, "2"), bench.Shard{Index: 0, Count: 2}},
		{"1/2", true, env(envJobIndex, "3", envShards, "4"), bench.Shard{Index: 1, Count: 2}}, // the flag wins
	} {
		got, err := resolveShard(tc.flag, tc.set, tc.env)
		if err != nil || got != tc.want {
			t.Errorf("resolveShard(%q, %v) = %v, %v; want %v", tc.flag, tc.set, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		env  func(string) string
		want string
	}{
		{env(envJobIndex, "1"), envShards}, // an index without a count
		{env(envShards, "4"), envJobIndex}, // a count without an index
		{env(envJobIndex, "4", envShards, "4"), "from 0 to 3"},
		{env(envBatchIndex, "x", envShards, "4"), envBatchIndex},
		{env(envJobIndex, "0", envShards, "0"), envShards},
	} {
		if _, err := resolveShard("", false, tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
}

// FuzzParseShard checks that any --shard value either parses to a shard within its
// count, written back the same, or is refused with the form to use; never a panic.
func FuzzParseShard(f *testing.F) {
	for _, s := range []string{"0/1", "3/4", "3/2", "-1/4", "x", "1/", "/", "0/0", "99999/100000", "+1/2", "1/2/3", " 0 / 2 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := parseShard(s)
		if err != nil {
			if !strings.Contains(err.Error(), "--shard") {
				t.Fatalf("error %q does not name --shard", err)
			}
			return
		}
		if sh.Count < 1 || sh.Count > maxShards || sh.Index < 0 || sh.Index >= sh.Count {
			t.Fatalf("parseShard(%q) = %+v", s, sh)
		}
	})
}

func TestParseStartAt(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	sp, err := parseStartAt(at.Format(time.RFC3339))
	if err != nil || sp.kind != startAtTime || !sp.at.Equal(at) {
		t.Fatalf("RFC 3339: %+v, %v", sp, err)
	}
	if sp, err := parseStartAt("file:/x/y"); err != nil || sp.kind != startAtFile || sp.ref != "/x/y" {
		t.Fatalf("file: %+v, %v", sp, err)
	}
	if sp, err := parseStartAt("redis:k"); err != nil || sp.kind != startAtRedis || sp.ref != "k" {
		t.Fatalf("redis: %+v, %v", sp, err)
	}
	for _, bad := range []string{"tomorrow", "file:", "redis:", "2030-01-02"} {
		if _, err := parseStartAt(bad); err == nil || !strings.Contains(err.Error(), "--start-at") {
			t.Errorf("parseStartAt(%q): %v", bad, err)
		}
	}
	now := time.Now()
	if err := checkStartAt(now.Add(-time.Minute), now, "--start-at"); err == nil || !strings.Contains(err.Error(), "in the past") {
		t.Errorf("a minute ago: %v", err)
	}
	if err := checkStartAt(now.Add(2*time.Hour), now, "--start-at"); err == nil || !strings.Contains(err.Error(), "ahead") {
		t.Errorf("in two hours: %v", err)
	}
	if err := checkStartAt(now.Add(-time.Second), now, "--start-at"); err != nil {
		t.Errorf("a second ago (within the tolerance): %v", err)
	}
}

// TestStartAtFromFile checks that shards racing for the file all get the one time the
// first of them wrote, now+startLead, and that a bad file is refused naming the fix.
func TestStartAtFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "start-at")
	now := time.Now()
	got := make([]time.Time, 8)
	errs := make([]error, len(got))
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = startAtFromFile(path, now.Add(time.Duration(i)*time.Millisecond))
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !got[i].Equal(got[0]) {
			t.Fatalf("shard %d starts at %v, shard 0 at %v", i, got[i], got[0])
		}
	}
	if d := got[0].Sub(now); d < startLead || d >= startLead+8*time.Millisecond {
		t.Fatalf("start %v after now, want %v (+ the first writer's offset)", d, startLead)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("%d files left, want the start-at file alone", len(entries))
	}
	if err := os.WriteFile(path, []byte("soon"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := startAtFromFile(path, now); err == nil || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("bad file: %v", err)
	}
}

// TestShardBadInput checks that bad shards and start times exit 2 naming the fix, before
// any service starts.
func TestShardBadInput(t *testing.T) {
	bin := buildCLI(t)
	for _, tc := range []struct {
		args []string
		env  []string
		want []string
	}{
		{[]string{"--shard", "3/2"}, nil, []string{"--shard", "from 0 to 1"}},
		{[]string{"--shard", "x"}, nil, []string{"INDEX/COUNT"}},
		{nil, []string{"JOB_COMPLETION_INDEX=1"}, []string{"CACHEBENCH_SHARDS"}},
		{[]string{"--shard", "0/2", "--env", "embedded", "--start-at", "file:/tmp/x"}, nil, []string{"--env external", "cachebench env up"}},
		{[]string{"--shard", "0/2", "--env", "external"}, nil, []string{"--start-at"}},
		{[]string{"--start-at", "2001-01-01T00:00:00Z"}, nil, []string{"--start-at", "in the past"}},
		{[]string{"--start-at", "soon"}, nil, []string{"RFC 3339"}},
	} {
		cmd := exec.Command(bin, append([]string{"run", "baseline"}, tc.args...)...)
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "JOB_COMPLETION_INDEX=") && !strings.HasPrefix(kv, "AWS_BATCH_JOB_ARRAY_INDEX=") && !strings.HasPrefix(kv, "CACHEBENCH_SHARDS=") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, tc.env...)
		cmd.Dir = t.TempDir()
		badInput(t, cmd, tc.want...)
	}
}
