package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReportCompareDamagedResults checks report and compare over folders a killed or
// damaged run left: an empty, a truncated and a corrupt-histogram result.json are each
// an exit 2 naming that file, never a panic, and a leftover temporary file from an
// interrupted write is ignored.
func TestReportCompareDamagedResults(t *testing.T) {
	bin := buildCLI(t)
	real, err := os.ReadFile(filepath.Join("..", "..", "reports", "testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(real, &m); err != nil {
		t.Fatal(err)
	}
	m["histograms"].(map[string]any)["service_us"] = "AAAA"
	corrupt, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(rel string, data []byte) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("good/result.json", real)
	// What Result.Write leaves when killed between writing and renaming: ignored.
	write("good/.result-123.json", real[:len(real)/2])
	emptyRes := write("sweep/a/result.json", nil)
	write("sweep/b/result.json", real)
	halfRes := write("half/result.json", real[:len(real)/2])
	badHist := write("hist/result.json", corrupt)

	code, _, stderr := exitCode(t, exec.Command(bin, "report", filepath.Join(dir, "good"), "--format", "md"))
	if code != exitOK {
		t.Fatalf("report of a folder with a leftover temporary file: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"report", filepath.Join(dir, "sweep")}, []string{emptyRes + " is empty", "run it again"}},
		{[]string{"report", filepath.Join(dir, "half")}, []string{halfRes + " is not a cachebench result", "truncated"}},
		{[]string{"report", filepath.Join(dir, "hist")}, []string{badHist, "histograms.service_us does not decode"}},
		{[]string{"compare", filepath.Join(dir, "good"), filepath.Join(dir, "half")}, []string{halfRes, "truncated"}},
		{[]string{"compare", filepath.Join(dir, "hist"), filepath.Join(dir, "good")}, []string{badHist, "histograms.service_us"}},
		{[]string{"compare", filepath.Join(dir, "good"), emptyRes}, []string{emptyRes + " is empty"}},
	} {
		t.Run(strings.Join(tc.args[:1], " ")+" "+filepath.Base(filepath.Dir(tc.want[0])), func(t *testing.T) {
			badInput(t, exec.Command(bin, tc.args...), tc.want...)
		})
	}
	// Nothing was written beside the damaged results.
	for _, d := range []string{"sweep", "half", "hist"} {
		if _, err := os.Stat(filepath.Join(dir, d, "report.md")); err == nil {
			t.Errorf("a report was written into %s", d)
		}
	}
}
