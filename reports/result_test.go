package reports

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "result.json")
	r := fixtureResult(t)
	if err := r.Write(path); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Scenario.Name != r.Scenario.Name || got.LatencyUS.P99 != r.LatencyUS.P99 || len(got.Timeline) != len(r.Timeline) {
		t.Errorf("read back %q p99 %v %d seconds, want %q %v %d", got.Scenario.Name, got.LatencyUS.P99, len(got.Timeline),
			r.Scenario.Name, r.LatencyUS.P99, len(r.Timeline))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("%d files beside result.json, want none (no temporary file left)", len(entries)-1)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{filepath.Join(dir, "missing.json"), []string{"missing.json", "no such file"}},
		{write("broken.json", `{"schema": `), []string{"broken.json is not a cachebench result", "cachebench run wrote"}},
		{write("array.json", `[1, 2]`), []string{"array.json is not a cachebench result"}},
		{write("other.json", `{"name": "x"}`), []string{"other.json has no schema key", "cachebench run wrote"}},
		{write("v9.json", `{"schema": "cachebench/result/v9"}`), []string{`schema "cachebench/result/v9"`, Schema, "version that wrote it"}},
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			_, err := Read(tc.path)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestParseRejectsCorruptResults(t *testing.T) {
	good, err := json.Marshal(fixtureResult(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good, "ok.json"); err != nil {
		t.Fatalf("a good result: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	m["histograms"].(map[string]any)["latency_us"] = "AAAA"
	badHist, _ := json.Marshal(m)
	for _, tc := range []struct {
		name string
		data []byte
		want []string
	}{
		{"empty", nil, []string{"x.json is empty"}},
		{"truncated", good[:len(good)/2], []string{"x.json is not a cachebench result", "truncated"}},
		{"histogram", badHist, []string{"x.json", "histograms.latency_us does not decode"}},
		{"not json", []byte("hello"), []string{"x.json is not a cachebench result"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.data, "x.json")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// FuzzRead feeds Parse (what Read, report and compare load results with) corrupt and
// truncated results: an error, never a panic, and a result it accepts renders.
func FuzzRead(f *testing.F) {
	good, err := json.Marshal(fixtureResult(f))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/3])
	// A result.json a real run wrote (testdata/result.json, whose last second is partial),
	// whole and cut off at several points, as a killed writer would leave it.
	real, err := os.ReadFile(filepath.Join("testdata", "result.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(real)
	for _, frac := range []int{2, 4, 8, 16} {
		f.Add(real[:len(real)*(frac-1)/frac])
	}
	f.Add([]byte(`{"schema":"cachebench/result/v1","histograms":{"latency_us":"AAAA"}}`))
	f.Add([]byte(`{"schema":"cachebench/result/v1","histograms":{"service_us":"HISTFAAAACB42pNpmSzMwMDAxQABzFAaxmey"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data, "fuzz.json")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.json") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		var b strings.Builder
		_ = WriteMarkdown(&b, r)
		_ = WriteCSV(&b, r)
		_ = WriteCompare(&b, Compare([]*Result{r, r}), "md")
	})
}

func TestPartialSecondRate(t *testing.T) {
	full := Second{Requests: 3000}
	part := Second{Requests: 600, Partial: true, LengthS: 0.2}
	if full.Rate() != 3000 || part.Rate() != 3000 || part.Length() != 0.2 {
		t.Errorf("rates %v %v, length %v", full.Rate(), part.Rate(), part.Length())
	}
	r := fixtureResult(t)
	r.Timeline = append(r.Timeline, part)
	var b strings.Builder
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); !strings.HasSuffix(lines[len(lines)-1], ",0.2") {
		t.Errorf("the partial second's CSV row %q does not end with its length", lines[len(lines)-1])
	}
}

// TestSecondLengthAndSimulatedSpan: a timeline row covers its bucket (a virtual run's
// minute or hour), or its partial length; the report names a simulated span in the unit
// that reads best, so a trace of seconds does not show as "0 min".
func TestSecondLengthAndSimulatedSpan(t *testing.T) {
	for _, tc := range []struct {
		s    Second
		want float64
	}{
		{Second{Requests: 10}, 1},
		{Second{Requests: 600, BucketS: 60}, 60},
		{Second{Requests: 300, BucketS: 60, Partial: true, LengthS: 30}, 30},
		{Second{Requests: 5, Partial: true, LengthS: 0.5}, 0.5},
	} {
		if got := tc.s.Length(); got != tc.want {
			t.Errorf("%+v: Length %v, want %v", tc.s, got, tc.want)
		}
		if got, want := tc.s.Rate(), float64(tc.s.Requests)/tc.want; got != want {
			t.Errorf("%+v: Rate %v, want %v", tc.s, got, want)
		}
	}
	for in, want := range map[float64]string{24: "24 s", 119: "119 s", 1800: "30 min", 86400: "24.0 h"} {
		if got := formatSimulated(in); got != want {
			t.Errorf("formatSimulated(%v) = %q, want %q", in, got, want)
		}
	}
}
