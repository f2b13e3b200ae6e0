package reports

import (
	"bytes"
	"testing"
)

func TestGolden(t *testing.T) {
	r := fixtureResult(t)
	s := Sweep(sweepFixture(t))
	single := fixtureResult(t)
	single.Scenario.Name = "zipf-read-heavy-tinylfu"
	single.LatencyUS.P99 = 7350
	single.Tiers.L1.HitRatio = 0.85
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"report.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r) }},
		{"timeline.csv", func(b *bytes.Buffer) error { return WriteCSV(b, r) }},
		{"sweep.md", func(b *bytes.Buffer) error { return WriteSweepMarkdown(b, s) }},
		{"sweep.csv", func(b *bytes.Buffer) error { return WriteSweepCSV(b, s) }},
		{"compare.md", func(b *bytes.Buffer) error { return WriteCompare(b, Compare([]*Result{r, single}), "md") }},
		{"compare.txt", func(b *bytes.Buffer) error { return WriteCompare(b, Compare([]*Result{r, single}), "text") }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, b.Bytes())
		})
	}
}

func TestMarkdownEdgeCases(t *testing.T) {
	r := &Result{Schema: Schema, Scenario: ScenarioRef{Name: "bare"}, Interrupted: true, WarmupS: 0.5,
		Notes: []string{"a <script> tag | and *stars*"}}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"INTERRUPTED", "No faults were injected", "The scenario set no thresholds", "&lt;script>", `\*stars\*`, "| L3 DynamoDB | off |", "after a 0.5 s warm-up"} {
		if !bytes.Contains([]byte(out), []byte(want)) {
			t.Errorf("markdown lacks %q:\n%s", want, out)
		}
	}
	for _, absent := range []string{"## Cost", "## Lambda", "## Webhooks"} {
		if bytes.Contains([]byte(out), []byte(absent)) {
			t.Errorf("markdown has %q for a run without it", absent)
		}
	}
}

func TestSummaryWarmup(t *testing.T) {
	r := fixtureResult(t)
	r.WarmupS = 0.5
	var b bytes.Buffer
	WriteSummary(&b, r)
	if !bytes.Contains(b.Bytes(), []byte("(warm-up 0.5 s excluded)")) {
		t.Errorf("a half-second warm-up is not shown as such:\n%s", b.String())
	}
}
