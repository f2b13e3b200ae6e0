package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadRealResult reads the result.json a real run wrote: it passes every check, and
// its last second is the partial one the run ended in.
func TestReadRealResult(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	last := r.Timeline[len(r.Timeline)-1]
	if !last.Partial || last.LengthS <= 0 || last.LengthS >= 1 {
		t.Errorf("last second %+v; want partial with a length in (0, 1)", last)
	}
}

// TestParseRejectsInsaneFigures edits one field of a good result at a time into a value
// no run writes: Parse names the file and the key.
func TestParseRejectsInsaneFigures(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(m map[string]any)
		want string
	}{
		{"no scenario name", func(m map[string]any) { m["scenario"].(map[string]any)["name"] = "" }, "scenario.name is missing"},
		{"negative duration", func(m map[string]any) { m["duration_s"] = -1 }, "duration_s is -1, below 0"},
		{"negative total", func(m map[string]any) { m["requests"].(map[string]any)["total"] = -5 }, "requests.total is -5"},
		{"negative hits", func(m map[string]any) {
			m["tiers"].(map[string]any)["l2"].(map[string]any)["hits"] = -1
		}, "tiers.l2.hits is -1"},
		{"hit ratio above 1", func(m map[string]any) {
			m["tiers"].(map[string]any)["l1"].(map[string]any)["hit_ratio"] = 1.5
		}, "tiers.l1.hit_ratio is 1.5, outside 0..1"},
		{"more failed than misses", func(m map[string]any) {
			m["tiers"].(map[string]any)["l2"].(map[string]any)["failed"] = 1 << 40
		}, "tiers.l2.failed is 1099511627776; failed lookups are among the"},
		{"bytes per entry not from its counters", func(m map[string]any) {
			l3 := m["tiers"].(map[string]any)["l3"].(map[string]any)
			l3["bytes_measure"], l3["entries_written"], l3["bytes_written"], l3["bytes_per_entry"] = "dynamodb_item_size", 10, 2000, 300
		}, "tiers.l3.bytes_per_entry is 300, but its dynamodb_item_size counters give 200"},
		{"unknown bytes measure", func(m map[string]any) {
			l2 := m["tiers"].(map[string]any)["l2"].(map[string]any)
			l2["bytes_measure"], l2["bytes_per_entry"] = "guess", 100
		}, `tiers.l2.bytes_measure "guess" is not one cachebench writes`},
		{"timeline out of order", func(m map[string]any) {
			tl := m["timeline"].([]any)
			tl[1].(map[string]any)["t_s"] = 0
		}, "timeline[1].t_s is 0, not after"},
		{"partial in the middle", func(m map[string]any) {
			tl := m["timeline"].([]any)
			tl[0].(map[string]any)["partial"] = true
			tl[0].(map[string]any)["length_s"] = 0.5
		}, "timeline[0] is partial but not the last second"},
		{"partial without length", func(m map[string]any) {
			tl := m["timeline"].([]any)
			delete(tl[len(tl)-1].(map[string]any), "length_s")
		}, "length_s is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(good, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Parse(data, "edited.json")
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range []string{"edited.json", tc.want, "run the scenario again"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestReadTruncatedRealResult cuts the real result.json at many points, as a writer killed
// part-way would leave it: every cut is an error naming the file, never a panic.
func TestReadTruncatedRealResult(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "result.json")
	for n := 0; n < len(good)-2; n += len(good)/97 + 1 {
		if err := os.WriteFile(path, good[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Fatalf("the first %d of %d bytes: error %v; want one naming %s", n, len(good), err, path)
		}
	}
}

// TestWriteIsReadable checks result.json is written readable by others, like the reports
// beside it (the temporary file it is written through starts as 0600).
func TestWriteIsReadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "result.json")
	if err := fixtureResult(t).Write(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o644 {
		t.Errorf("result.json mode %v, want 0644", st.Mode().Perm())
	}
}

// TestPartialSecondCharted checks the charts over time mark a partial last second with
// its length (the real run's last second lasted 0.82 s), and only then.
func TestPartialSecondCharted(t *testing.T) {
	r, err := Read(filepath.Join("testdata", "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	last := r.Timeline[len(r.Timeline)-1]
	charts, _ := runCharts(r)
	var found bool
	for _, c := range charts {
		if c.Title != "Throughput over time" {
			continue
		}
		found = true
		if want := fmt.Sprintf("partial last second (%.2f s", last.LengthS); !strings.Contains(c.SVG, want) {
			t.Errorf("throughput chart lacks the legend %q", want)
		}
	}
	if !found {
		t.Fatal("no throughput chart")
	}
	// Without the mark, no legend.
	r.Timeline[len(r.Timeline)-1].Partial = false
	charts, _ = runCharts(r)
	for _, c := range charts {
		if strings.Contains(c.SVG, "partial last second") {
			t.Errorf("chart %q marks a partial second the result does not have", c.Title)
		}
	}
}
