package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// exitCode runs the command and returns its exit code, stdout and stderr.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run %v: %v", cmd.Args, err)
	return 0, "", ""
}

// badInput runs cmd and checks that it was refused as bad input: exit 2, a message on
// stderr naming every one of want, and no panic.
func badInput(t *testing.T, cmd *exec.Cmd, want ...string) {
	t.Helper()
	code, stdout, stderr := exitCode(t, cmd)
	if code != exitBadInput {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, exitBadInput, stdout, stderr)
	}
	for _, w := range want {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr %q lacks %q", stderr, w)
		}
	}
	if strings.Contains(stderr+stdout, "panic") {
		t.Errorf("panic: %s%s", stdout, stderr)
	}
}

// TestList checks that every built-in scenario is listed with its description.
func TestList(t *testing.T) {
	bin := buildCLI(t)
	code, out, errOut := exitCode(t, exec.Command(bin, "list"))
	if code != 0 {
		t.Fatalf("list exited %d: %s", code, errOut)
	}
	infos := scenarios.List()
	if len(infos) < 9 {
		t.Fatalf("%d built-in scenarios, want at least 9", len(infos))
	}
	for _, s := range infos {
		if !strings.Contains(out, s.Name) || !strings.Contains(out, s.Description) {
			t.Errorf("list does not show %s with its description %q", s.Name, s.Description)
		}
	}
}

// tiny is a scenario that runs in about two seconds on the embedded services.
const tiny = `name: tiny
seed: 5
warmup: 500ms
duration: 1500ms
arrival: {model: constant, rate: 200}
keys: {object: customer, count: 50, distribution: zipf, zipf_s: 1.0}
cache:
  l3: {enabled: false}
lambda: {enabled: false}
stripe: {mode: none}
thresholds: ["p99 < 10s", "%s"]
`

// TestRunWritesResult runs a small scenario file on the embedded services and checks the
// exit code and result.json: 0 when the thresholds pass, 1 when one fails.
func TestRunWritesResult(t *testing.T) {
	bin := buildCLI(t)
	for _, tc := range []struct {
		threshold string
		code      int
	}{
		{"error_ratio < 1%", exitOK},
		{"l1.hit_ratio > 0.999", exitThreshold},
	} {
		t.Run(tc.threshold, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "tiny.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(tiny, "%s", tc.threshold, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			code, stdout, stderr := exitCode(t, exec.Command(bin, "run", file, "--env", "embedded", "--out", out))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			res, err := reports.Read(filepath.Join(out, "result.json"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Scenario.Name != "tiny" || res.Requests.Gets < 250 || res.Interrupted {
				t.Errorf("result: scenario %q, %d reads, interrupted %v; want tiny, about 300 reads, not interrupted", res.Scenario.Name, res.Requests.Gets, res.Interrupted)
			}
			if len(res.Thresholds) != 2 || res.Thresholds[1].OK != (tc.code == exitOK) {
				t.Errorf("thresholds %+v", res.Thresholds)
			}
			if !strings.Contains(stdout, "latency") || !strings.Contains(stdout, "result.json") {
				t.Errorf("the summary is missing: %s", stdout)
			}
			// The reports beside result.json.
			md := readFile(t, filepath.Join(out, "report.md"))
			for _, want := range []string{"# cachebench report: tiny", "## Latency", "## Thresholds", tc.threshold} {
				if !strings.Contains(md, want) {
					t.Errorf("report.md lacks %q", want)
				}
			}
			checkHTMLPage(t, filepath.Join(out, "report.html"), "cachebench report: tiny", "Read latency by percentile", "Thresholds: ")
			// The in-process stripe-mock prints a line per request; none may reach stdout.
			if strings.Contains(stdout, "Request: GET") {
				t.Errorf("stripe-mock's request log reached stdout: %s", stdout)
			}
			if !strings.Contains(stdout, filepath.Join(out, "report.html")) {
				t.Errorf("stdout does not say where the report is: %s", stdout)
			}
		})
	}
}

// TestRunSweepExitCode checks that a sweep's thresholds choose among its points: a sweep
// exits 0 when some point passes them, though others fail, and 1 only when none does.
func TestRunSweepExitCode(t *testing.T) {
	bin := buildCLI(t)
	for _, tc := range []struct {
		threshold string
		code      int
	}{
		// 50 keys at 200/s: a 30 s L1 TTL keeps most of them, a 1 ms one none.
		{"l1.hit_ratio > 0.3", exitOK},
		{"l1.hit_ratio > 0.999", exitThreshold},
	} {
		t.Run(tc.threshold, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "tiny.yaml")
			sc := strings.Replace(tiny, "%s", tc.threshold, 1) + "sweep:\n  cache.l1.ttl: [1ms, 30s]\n"
			if err := os.WriteFile(file, []byte(sc), 0o644); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := exitCode(t, exec.Command(bin, "run", file, "--env", "embedded", "--out", filepath.Join(dir, "out")))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, stdout, stderr)
			}
			md := readFile(t, filepath.Join(dir, "out", "sweep.md"))
			if !strings.Contains(md, "FAIL: "+tc.threshold) {
				t.Errorf("sweep.md shows no point failing %q:\n%s", tc.threshold, md)
			}
		})
	}
}

// TestRunBadInput checks that a broken scenario, a bad --set, an unknown name and the
// external environment without endpoints exit 2 with the file's line or the fix, and
// leave no output folder.
func TestRunBadInput(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("name: bad\nduration: 10 sec\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.yaml")
	if err := os.WriteFile(empty, []byte("# nothing yet\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
		env  string
	}{
		{[]string{"run", bad}, "bad.yaml:2:", ""},
		{[]string{"run", empty}, "empty.yaml: the scenario file is empty", ""},
		{[]string{"run", "baseline"}, "CACHEBENCH_REDIS_URL", "external"},
		{[]string{"run", "baseline", "--set", "cache.l1.tll=5s"}, "cache.l1.tll", ""},
		{[]string{"run", "no-such-scenario"}, "cachebench list", ""},
		{[]string{"run", "redis-cluster"}, "run with --env local", ""},
		{[]string{"run", "redis-failover"}, "run with --env local", ""},
		{[]string{"run", "baseline", "--set", "cache.l2.auth=acl"}, "run with --env local", ""},
		{[]string{"run", "baseline", "--pricing", filepath.Join(dir, "missing.json")}, "missing.json", ""},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			env := tc.env
			if env == "" {
				env = "embedded"
			}
			cmd := exec.Command(bin, append(tc.args, "--env", env, "--out", filepath.Join(dir, "o"))...)
			// The external environment's endpoints come from the environment: none here.
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CACHEBENCH_REDIS") && !strings.HasPrefix(kv, "CACHEBENCH_DYNAMODB") && !strings.HasPrefix(kv, "CACHEBENCH_STRIPE") {
					cmd.Env = append(cmd.Env, kv)
				}
			}
			badInput(t, cmd, tc.want)
			// Refused input leaves no folder that looks like a run's.
			if _, err := os.Stat(filepath.Join(dir, "o")); !os.IsNotExist(err) {
				entries, _ := os.ReadDir(filepath.Join(dir, "o"))
				t.Errorf("%s exists after bad input (%d entries)", filepath.Join(dir, "o"), len(entries))
			}
		})
	}
}

// TestRunInterrupted sends SIGINT in the middle of a run and checks for exit code 130
// and a result.json marked interrupted.
func TestRunInterrupted(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "long.yaml")
	long := strings.Replace(strings.Replace(tiny, "duration: 1500ms", "duration: 60s", 1), "%s", "errors < 1", 1)
	if err := os.WriteFile(file, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "run", file, "--env", "embedded", "--out", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
			t.Fatalf("exit %v, want %d; stderr: %s", err, exitInterrupted, stderr.String())
		}
	case <-time.After(40 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("run did not end within 40 s of SIGINT")
	}
	res, err := reports.Read(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Interrupted || res.DurationS > 10 || res.Requests.Gets == 0 {
		t.Errorf("partial result: interrupted %v, %.1f s, %d reads; want interrupted after a few seconds with some reads", res.Interrupted, res.DurationS, res.Requests.Gets)
	}
	if md := readFile(t, filepath.Join(out, "report.md")); !strings.Contains(md, "INTERRUPTED") {
		t.Errorf("the partial run's report.md does not say it was interrupted:\n%s", md)
	}
	checkHTMLPage(t, filepath.Join(out, "report.html"), "INTERRUPTED")
}
