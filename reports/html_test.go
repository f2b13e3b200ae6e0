package reports

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
)

// htmlFacts is what a parse of a report page finds.
type htmlFacts struct {
	// external lists every reference to the network: http(s) or protocol-relative URLs in
	// any attribute or text (XML namespace names excepted: they are never fetched).
	external []string
	// forbidden lists elements that would load or run something.
	forbidden []string
	// scripts counts inline <script> elements.
	scripts int
	// charts holds, for each <svg>, its aria-label and the number of drawing elements in it.
	charts []chartFacts
}

type chartFacts struct {
	label    string
	elements int
	texts    int
}

func parseHTML(t *testing.T, page []byte) htmlFacts {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var f htmlFacts
	depth := -1 // depth inside the current <svg>, -1 outside
	isURL := func(s string) bool {
		s = strings.TrimSpace(strings.ToLower(s))
		return strings.Contains(s, "http://") || strings.Contains(s, "https://") || strings.HasPrefix(s, "//")
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("the page does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(tok.Name.Local)
			switch name {
			case "script":
				f.scripts++
				for _, a := range tok.Attr {
					f.forbidden = append(f.forbidden, "script "+a.Name.Local) // a script is inline only
				}
			case "link", "img", "iframe", "object", "embed", "image", "use", "audio", "video", "source", "base":
				f.forbidden = append(f.forbidden, name)
			}
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				if isURL(a.Value) || strings.Contains(strings.ToLower(a.Value), "url(") {
					f.external = append(f.external, name+" "+a.Name.Local+"="+a.Value)
				}
			}
			if name == "svg" {
				label := ""
				for _, a := range tok.Attr {
					if a.Name.Local == "aria-label" {
						label = a.Value
					}
				}
				f.charts = append(f.charts, chartFacts{label: label})
				depth = 0
				continue
			}
			if depth >= 0 {
				depth++
				c := &f.charts[len(f.charts)-1]
				c.elements++
				if name == "text" {
					c.texts++
				}
			}
		case xml.EndElement:
			if depth == 0 && strings.ToLower(tok.Name.Local) == "svg" {
				depth = -1
			} else if depth > 0 {
				depth--
			}
		case xml.CharData:
			if isURL(string(tok)) {
				f.external = append(f.external, "text: "+strings.TrimSpace(string(tok)))
			}
		}
	}
	return f
}

func checkPage(t *testing.T, page []byte, wantTitles []string) {
	t.Helper()
	f := parseHTML(t, page)
	if len(f.external) > 0 {
		t.Errorf("the page refers to the network: %v", f.external)
	}
	if len(f.forbidden) > 0 {
		t.Errorf("the page has elements that load or run things: %v", f.forbidden)
	}
	if len(f.charts) != len(wantTitles) {
		t.Fatalf("%d charts, want %d (%v)", len(f.charts), len(wantTitles), wantTitles)
	}
	for i, c := range f.charts {
		if c.label != wantTitles[i] {
			t.Errorf("chart %d is %q, want %q", i, c.label, wantTitles[i])
		}
		if c.elements < 20 || c.texts < 4 {
			t.Errorf("chart %q has %d elements and %d texts: empty?", c.label, c.elements, c.texts)
		}
	}
	// One inline script, allowed by its own hash and nothing else.
	if f.scripts != 1 {
		t.Errorf("%d scripts, want the one that hides series", f.scripts)
	}
	_, rest, _ := bytes.Cut(page, []byte("<script>"))
	script, _, _ := bytes.Cut(rest, []byte("</script>"))
	sum := sha256.Sum256(script)
	csp := `content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-` + base64.StdEncoding.EncodeToString(sum[:]) + `'"`
	for _, want := range []string{"<!DOCTYPE html>", csp} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestWriteHTML(t *testing.T) {
	r := fixtureResult(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	checkPage(t, b.Bytes(), []string{
		"Read latency by percentile",
		"Read latency over time (from intended start)",
		"Throughput over time",
		"Hit ratio per tier over time",
		"Errors and Stripe 429s over time",
		"Simulated cost of the run by item",
	})
	page := b.String()
	for _, want := range []string{
		"percentile (log scale of 1/(1−p))", "latency (ms)", "99.9%", // spectrum axes
		"fault: redis down (10.0–15.0 s)", // shaded fault, in every time chart's legend
		"time since the start of the measured part (s)", "hit ratio (%)", "cost of this run (USD)",
		"Thresholds: 1 of 2 pass.", "aws-same-az", "DynamoDB Local 1.25.1", "single run",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, "fault: redis down"); n != 4 {
		t.Errorf("fault window shaded on %d charts, want the 4 time charts", n)
	}
}

func TestWriteHTMLWithoutData(t *testing.T) {
	r := &Result{Schema: Schema, Scenario: ScenarioRef{Name: "bare"}}
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	checkPage(t, b.Bytes(), nil)
	for _, want := range []string{"Chart left out: no latency histogram", "no per-second timeline"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	r.Histograms.Latency = "not base64 at all"
	b.Reset()
	if err := WriteHTML(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "decode from intended start histogram") {
		t.Errorf("a bad histogram should be reported on the page")
	}
}

func TestWriteSweepHTML(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSweepHTML(&b, Sweep(sweepFixture(t))); err != nil {
		t.Fatal(err)
	}
	checkPage(t, b.Bytes(), []string{
		"p99 read latency by sweep point",
		"Hit ratio per tier by sweep point",
		"Stale read ratio by sweep point",
		"Cost per million requests by sweep point",
		"Lambda cold starts by sweep point",
	})
	page := b.String()
	// The sweep's thresholds are drawn as bounds on the charts of their figures.
	for _, want := range []string{">threshold p99 &lt; 10ms<", ">threshold stale_ratio &lt; 0.01<"} {
		if strings.Count(page, want) != 1 {
			t.Errorf("want %q once in the page, found it %d times", want, strings.Count(page, want))
		}
	}
	if n := strings.Count(page, ">Pareto frontier<"); n != 5 {
		t.Errorf("frontier marked in %d charts, want 5", n)
	}
	for _, want := range []string{"<th>cold starts</th>", "<td>25</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q (the Lambda sweep's cold starts)", want)
		}
	}
	if !strings.Contains(page, "Recommended: cache.l1.ttl=60s") {
		t.Error("the page lacks the recommendation")
	}
}
