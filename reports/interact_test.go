package reports

import (
	"image/color"
	"strings"
	"testing"
)

// TestTagSeries: solid paths in a series' colour get its number; translucent shades of
// it (fault windows) and other colours do not; one series is never tagged.
func TestTagSeries(t *testing.T) {
	svg := `<svg><path d="M0,0" style="fill:none;stroke:#1F77B4;stroke-width:1.5" /><path d="M1,1" style="fill:#D62728" />` +
		`<path d="M2,2" style="fill:#D62728;fill-opacity:0.25098" /><path d="M3,3" style="stroke:#000000" /></svg>`
	series := []seriesInfo{{"a", svgColor(seriesColors[0])}, {"b", svgColor(seriesColors[1])}}
	got := tagSeries(svg, series)
	for _, want := range []string{`<path data-s="0" d="M0,0"`, `<path data-s="1" d="M1,1"`, `<path d="M2,2"`, `<path d="M3,3"`} {
		if !strings.Contains(got, want) {
			t.Errorf("tagSeries lacks %q:\n%s", want, got)
		}
	}
	if one := tagSeries(svg, series[:1]); one != svg {
		t.Errorf("a single series was tagged:\n%s", one)
	}
	if c := svgColor(color.NRGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}); c != "#D62728" {
		t.Errorf("svgColor = %s, want #D62728", c)
	}
}

func TestUnitOf(t *testing.T) {
	for label, want := range map[string]string{"latency (ms)": " ms", "hit ratio (%)": "%", "requests completed per second (1/s)": " a second", "count": ""} {
		if got := unitOf(label); got != want {
			t.Errorf("unitOf(%q) = %q, want %q", label, got, want)
		}
	}
}
