package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// externalLoad matches an attribute that would make a browser fetch something: a src or
// href to http(s) or a protocol-relative URL.
var externalLoad = regexp.MustCompile(`(?i)\b(src|href)\s*=\s*["']?\s*(https?:)?//`)

// readFile returns a file's contents, failing the test when it is missing.
func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}

// checkHTMLPage checks that an HTML report is self-contained and says what it is about.
func checkHTMLPage(t *testing.T, path string, wants ...string) {
	t.Helper()
	page := readFile(t, path)
	if !strings.Contains(page, "<svg") {
		t.Errorf("%s has no chart (<svg)", path)
	}
	if m := externalLoad.FindString(page); m != "" {
		t.Errorf("%s loads something from the network: %q", path, m)
	}
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s lacks %q", path, w)
		}
	}
}

// writeTiny writes the tiny scenario (run_test.go) to dir with one threshold.
func writeTiny(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(tiny, "%s", "error_ratio < 1%", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestRunSweepWritesSweepReport runs the shipped ttl-sweep, shortened to two points of two
// seconds, and checks the sweep's files at the root of --out, the recommendation on
// stdout, each point's reports, and then `report` and `compare` on what it wrote.
func TestRunSweepWritesSweepReport(t *testing.T) {
	bin := buildCLI(t)
	out := filepath.Join(t.TempDir(), "sweep")
	code, stdout, stderr := exitCode(t, exec.Command(bin, "run", "ttl-sweep", "--env", "embedded", "--out", out,
		"--set", "duration=2s", "--set", "warmup=0s", "--set", "arrival.rate=50",
		"--set", "sweep={cache.l1.ttl: [1s, 30s]}"))
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`Recommended: cache\.l1\.ttl=(1s|30s) — `).MatchString(stdout) {
		t.Errorf("stdout lacks the recommendation:\n%s", stdout)
	}
	points := []string{"01-cache.l1.ttl_1s", "02-cache.l1.ttl_30s"}
	for _, p := range points {
		dir := filepath.Join(out, p)
		if _, err := reports.Read(filepath.Join(dir, "result.json")); err != nil {
			t.Error(err)
		}
		checkHTMLPage(t, filepath.Join(dir, "report.html"), "ttl-sweep")
	}
	md := readFile(t, filepath.Join(out, "sweep.md"))
	for _, want := range []string{"# cachebench sweep: ttl-sweep", "| cache.l1.ttl=1s |", "| cache.l1.ttl=30s |", "cold starts", "★ frontier", "**Recommended: cache.l1.ttl="} {
		if !strings.Contains(md, want) {
			t.Errorf("sweep.md lacks %q:\n%s", want, md)
		}
	}
	checkHTMLPage(t, filepath.Join(out, "sweep.html"), "cachebench sweep: ttl-sweep", "Recommended: cache.l1.ttl=",
		"Pareto frontier", "p99 read latency by sweep point", "Stale read ratio by sweep point", "Cost per million requests by sweep point")
	csvLines := strings.Split(strings.TrimSpace(readFile(t, filepath.Join(out, "sweep.csv"))), "\n")
	if len(csvLines) != 3 || !strings.HasPrefix(csvLines[0], "cache.l1.ttl,point,runs,") || !strings.HasPrefix(csvLines[1], "1s,") {
		t.Errorf("sweep.csv: want a header and the 1s and 30s rows, got:\n%s", strings.Join(csvLines, "\n"))
	}

	// report on the sweep's folder writes the sweep report again, into that folder.
	for _, f := range []string{"sweep.md", "sweep.html", "sweep.csv"} {
		if err := os.Remove(filepath.Join(out, f)); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = exitCode(t, exec.Command(bin, "report", out))
	if code != exitOK {
		t.Fatalf("report %s: exit %d\n%s%s", out, code, stdout, stderr)
	}
	if got := readFile(t, filepath.Join(out, "sweep.md")); got != md {
		t.Errorf("report on the folder wrote another sweep.md than run did:\n%s\nwant:\n%s", got, md)
	}
	checkHTMLPage(t, filepath.Join(out, "sweep.html"), "Recommended: cache.l1.ttl=")

	// report on one point's folder writes its three reports beside its result.
	one := filepath.Join(out, points[0])
	code, _, stderr = exitCode(t, exec.Command(bin, "report", one, "--format", "csv,md"))
	if code != exitOK {
		t.Fatalf("report %s: exit %d: %s", one, code, stderr)
	}
	if csv := readFile(t, filepath.Join(one, "report.csv")); !strings.HasPrefix(csv, "t_s,requests,p50_us,p99_us,") || strings.Count(csv, "\n") < 2 {
		t.Errorf("report.csv is not the timeline:\n%s", csv)
	}

	// compare on two single results: deltas, directions, and no claim of significance.
	code, stdout, stderr = exitCode(t, exec.Command(bin, "compare", filepath.Join(one, "result.json"), filepath.Join(out, points[1])))
	if code != exitOK {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"Single runs: no claim of a significant difference", "ttl-sweep [cache.l1.ttl=1s]",
		"Δ vs ttl-sweep [cache.l1.ttl=1s]", "↓ lower", "cost per million requests", "Lambda cold starts"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("compare output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "p=") {
		t.Errorf("single runs were tested for significance:\n%s", stdout)
	}
}

// TestRunRepeat runs two configurations three times each and checks the repetitions'
// folders and seeds, compare.md with confidence intervals, and `compare` on the two
// folders of repeats, which tests the differences.
func TestRunRepeat(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	file := writeTiny(t, dir)
	sides := map[string]string{"a": "cache.l1.ttl=30s", "b": "cache.l1.ttl=1ms"}
	for name, set := range sides {
		out := filepath.Join(dir, name)
		code, stdout, stderr := exitCode(t, exec.Command(bin, "run", file, "--env", "embedded", "--out", out, "--repeat", "3",
			"--set", "duration=1s", "--set", "warmup=0s", "--set", set))
		if code != exitOK {
			t.Fatalf("run --repeat 3 --set %s: exit %d\nstdout: %s\nstderr: %s", set, code, stdout, stderr)
		}
		seeds := map[int64]bool{}
		for i, rep := range []string{"rep-01", "rep-02", "rep-03"} {
			res, err := reports.Read(filepath.Join(out, rep, "result.json"))
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(5 + i); res.Scenario.Seed != want {
				t.Errorf("%s seed %d, want %d (the scenario's 5, then 6 and 7)", rep, res.Scenario.Seed, want)
			}
			seeds[res.Scenario.Seed] = true
			if _, err := os.Stat(filepath.Join(out, rep, "report.html")); err != nil {
				t.Errorf("%s has no report.html: %v", rep, err)
			}
		}
		if len(seeds) != 3 {
			t.Errorf("seeds %v: the repetitions must differ", seeds)
		}
		cmp := readFile(t, filepath.Join(out, "compare.md"))
		for _, want := range []string{"tiny (3 runs)", "±", "95% confidence interval", "repeats of one configuration"} {
			if !strings.Contains(cmp, want) {
				t.Errorf("compare.md lacks %q:\n%s", want, cmp)
			}
		}
		if !strings.Contains(stdout, "repetition 3/3 (seed 7)") || !strings.Contains(stdout, "± ") {
			t.Errorf("stdout lacks the repetitions or their summary:\n%s", stdout)
		}
	}

	code, stdout, stderr := exitCode(t, exec.Command(bin, "compare", filepath.Join(dir, "a"), filepath.Join(dir, "b"), "--format", "md"))
	if code != exitOK {
		t.Fatalf("compare: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"| tiny (" + filepath.Join(dir, "a") + ") (3 runs) |", "Welch's t-test", "±", "p="} {
		if !strings.Contains(stdout, want) {
			t.Errorf("compare of two folders of repeats lacks %q:\n%s", want, stdout)
		}
	}
	// An L1 TTL of 1 ms leaves L1 nearly useless: the L1 hit ratio drops, significantly.
	row := regexp.MustCompile(`\| L1 hit ratio \|[^\n]*`).FindString(stdout)
	if !strings.Contains(row, "worse") || !strings.Contains(row, "difference significant at 5%") {
		t.Errorf("L1 hit ratio row %q: want a significant worsening", row)
	}

	report := filepath.Join(dir, "cmp.md")
	code, _, stderr = exitCode(t, exec.Command(bin, "compare", filepath.Join(dir, "a"), filepath.Join(dir, "b"), "--out", report))
	if code != exitOK {
		t.Fatalf("compare --out: exit %d: %s", code, stderr)
	}
	if got := readFile(t, report); !strings.HasPrefix(got, "# cachebench comparison") {
		t.Errorf("compare --out x.md should write Markdown:\n%s", got)
	}
	page := filepath.Join(dir, "cmp.html")
	code, _, stderr = exitCode(t, exec.Command(bin, "compare", filepath.Join(dir, "a"), filepath.Join(dir, "b"), "--out", page))
	if code != exitOK {
		t.Fatalf("compare --out x.html: exit %d: %s", code, stderr)
	}
	got := readFile(t, page)
	for _, want := range []string{"<!DOCTYPE html>", "Which is better", "L1 hit ratio", `<svg class="chart"`} {
		if !strings.Contains(got, want) {
			t.Errorf("compare --out x.html lacks %q", want)
		}
	}
}

// TestReportCompareBadInput checks that bad paths, files that are not results, bad flags
// and a one-sided comparison exit 2 with a message naming the problem and the fix, and
// write nothing.
func TestReportCompareBadInput(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	if err := os.MkdirAll(good, 0o755); err != nil {
		t.Fatal(err)
	}
	r := &reports.Result{Schema: reports.Schema, Scenario: reports.ScenarioRef{Name: "fixture"}}
	if err := r.Write(filepath.Join(good, "result.json")); err != nil {
		t.Fatal(err)
	}
	notResult := filepath.Join(dir, "package.json")
	broken := filepath.Join(dir, "broken.json")
	other := filepath.Join(dir, "v9.json")
	for path, data := range map[string]string{notResult: `{"name": "x", "version": "1.0.0"}`, broken: `{"schema": "cachebench/res`, other: `{"schema": "cachebench/result/v9"}`} {
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing", "result.json")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"report", missing}, []string{missing + " does not exist", "give a result.json or a folder"}},
		{[]string{"report", notResult}, []string{"package.json has no schema key", "give a result.json that cachebench run wrote"}},
		{[]string{"report", broken}, []string{"broken.json is not a cachebench result", "cachebench run wrote"}},
		{[]string{"report", other}, []string{`v9.json has schema "cachebench/result/v9"`, "version that wrote it"}},
		{[]string{"report", empty}, []string{"no result.json under " + empty}},
		{[]string{"report", good, notResult}, []string{"package.json"}}, // nothing written for good either
		{[]string{"report", good, "--format", "pdf"}, []string{`unknown --format "pdf"`, "md, html, csv"}},
		{[]string{"report"}, []string{"report needs a result.json or a folder"}},
		{[]string{"run", "baseline", "--repeat", "0"}, []string{"--repeat 0", "from 1 to 100", "--repeat 3"}},
		{[]string{"run", "baseline", "--repeat", "101"}, []string{"--repeat 101", "from 1 to 100"}},
		{[]string{"compare", good}, []string{"compare needs at least two sides, got 1", "cachebench compare A/result.json B/result.json"}},
		{[]string{"compare", good, missing}, []string{missing + " does not exist"}},
		{[]string{"compare", good, good, "--format", "pdf"}, []string{`unknown --format "pdf"`, "text, md or html"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			badInput(t, exec.Command(bin, tc.args...), tc.want...)
		})
	}
	// No report was written anywhere, not even a temporary file.
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name := d.Name(); strings.HasPrefix(name, "report.") || strings.HasPrefix(name, "sweep.") || strings.HasPrefix(name, ".report") {
			t.Errorf("bad input left %s behind", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReportOneFile checks --out FILE: one report in the format of its extension, and
// --out DIR: all three.
func TestReportOneFile(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	res := filepath.Join(dir, "run", "result.json")
	r := &reports.Result{Schema: reports.Schema, Scenario: reports.ScenarioRef{Name: "fixture", Seed: 3}, DurationS: 2,
		Timeline: []reports.Second{{TS: 0, Requests: 10}, {TS: 1, Requests: 12}}}
	if err := r.Write(res); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "page.html")
	code, _, stderr := exitCode(t, exec.Command(bin, "report", res, "-o", page))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkHTMLPage(t, page, "cachebench report: fixture")
	if _, err := os.Stat(filepath.Join(dir, "run", "report.md")); err == nil {
		t.Error("-o FILE.html also wrote report.md beside the result")
	}
	code, stdout, stderr := exitCode(t, exec.Command(bin, "report", res, "--out", filepath.Join(dir, "all")))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, f := range []string{"report.md", "report.html", "report.csv"} {
		p := filepath.Join(dir, "all", f)
		if !strings.Contains(stdout, p) {
			t.Errorf("stdout does not name %s: %s", p, stdout)
		}
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, mode %v; want a readable file", p, err, st.Mode())
		}
	}
	if md := readFile(t, filepath.Join(dir, "all", "report.md")); !strings.Contains(md, "# cachebench report: fixture") {
		t.Errorf("report.md:\n%s", md)
	}
	if csv := readFile(t, filepath.Join(dir, "all", "report.csv")); strings.Count(csv, "\n") != 3 {
		t.Errorf("report.csv should have a header and 2 seconds:\n%s", csv)
	}
}

func TestPlanRuns(t *testing.T) {
	s, err := scenarios.Load("ttl-sweep", []string{"seed=40"})
	if err != nil {
		t.Fatal(err)
	}
	points, err := scenarios.Expand(s)
	if err != nil {
		t.Fatal(err)
	}
	plan := planRuns("out", points, 3)
	if len(plan) != 3*len(points) {
		t.Fatalf("%d runs, want %d", len(plan), 3*len(points))
	}
	// Rounds: every point once, then again.
	first, last := plan[0], plan[len(plan)-1]
	if first.point != 0 || first.rep != 0 || plan[len(points)].point != 0 || plan[len(points)].rep != 1 {
		t.Errorf("runs are not in rounds: %+v, %+v", first, plan[len(points)])
	}
	if want := filepath.Join("out", "01-cache.l1.ttl_1s_cache.l2.ttl_2s", "rep-01"); first.dir != want {
		t.Errorf("first folder %q, want %q", first.dir, want)
	}
	if first.s.Seed != 40 || last.s.Seed != 42 || points[0].Seed != 40 {
		t.Errorf("seeds: rep 1 %d, rep 3 %d, point left at %d; want 40, 42, 40", first.s.Seed, last.s.Seed, points[0].Seed)
	}
	if single := planRuns("out", points[:1], 1); len(single) != 1 || single[0].dir != "out" || single[0].s != points[0] {
		t.Errorf("one point, one run: %+v, want out/ and the scenario itself", single)
	}
	many := make([]*scenarios.Scenario, 120)
	for i := range many {
		many[i] = points[0]
	}
	if got := planRuns("o", many, 1)[9].dir; got != filepath.Join("o", "010-cache.l1.ttl_1s_cache.l2.ttl_2s") {
		t.Errorf("folder of point 10 of 120 is %q: the numbers must keep path order", got)
	}
}

func TestCommonDir(t *testing.T) {
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{"a/b/result.json"}, "a/b"},
		{[]string{"a/b/01/result.json", "a/b/02/rep-01/result.json"}, "a/b"},
		{[]string{"a/x/result.json", "a/xy/result.json"}, "a"},
		{[]string{"/r/a/result.json", "/r/b/result.json"}, "/r"},
	} {
		if got := commonDir(tc.paths); got != filepath.FromSlash(tc.want) {
			t.Errorf("commonDir(%v) = %q, want %q", tc.paths, got, tc.want)
		}
	}
}

func TestParseFormats(t *testing.T) {
	got, err := parseFormats([]string{"csv", "MD", "markdown", " html "})
	if err != nil || strings.Join(got, ",") != "md,html,csv" {
		t.Errorf("parseFormats = %v, %v; want md,html,csv", got, err)
	}
	for _, bad := range [][]string{{"pdf"}, {""}, nil} {
		if _, err := parseFormats(bad); err == nil {
			t.Errorf("parseFormats(%q) accepted", bad)
		}
	}
}
