package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes the report of one run as GitHub-flavoured Markdown: requests,
// latency (from intended start and service time), hit ratios per tier, Stripe calls,
// freshness, webhooks, the Lambda fleet, cost when present, the environment of each
// tier, faults, thresholds and notes. It states that the figures come from a single run.
func WriteMarkdown(w io.Writer, r *Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# cachebench report: %s\n\n", mdEscape(runTitle(r)))
	for _, p := range runPreamble(r) {
		fmt.Fprintf(bw, "%s\n\n", mdEscape(p))
	}
	for _, s := range runSections(r) {
		writeMarkdownSection(bw, s)
	}
	fmt.Fprintf(bw, "## Notes\n\n")
	if len(r.Notes) == 0 {
		fmt.Fprintf(bw, "None.\n")
	}
	for _, n := range r.Notes {
		fmt.Fprintf(bw, "- %s\n", mdEscape(n))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

func writeMarkdownSection(w io.Writer, s section) {
	fmt.Fprintf(w, "## %s\n\n", s.title)
	if len(s.rows) > 0 {
		writeMarkdownTable(w, s.header, s.rows)
		fmt.Fprintln(w)
	}
	if s.note != "" {
		fmt.Fprintf(w, "%s\n\n", mdEscape(s.note))
	}
}

// writeMarkdownTable writes a pipe table; cells are escaped.
func writeMarkdownTable(w io.Writer, header []string, rows [][]string) {
	cells := make([]string, len(header))
	for i, h := range header {
		cells[i] = mdCell(h)
	}
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	for i := range cells {
		cells[i] = "---"
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(cells, "|"))
	for _, row := range rows {
		out := make([]string, len(row))
		for i, c := range row {
			out[i] = mdCell(c)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(out, " | "))
	}
}

func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return mdEscape(strings.ReplaceAll(s, "|", `\|`))
}

// mdEscape escapes what would turn plain text into markup: an HTML-like tag, emphasis
// stars and code backticks. Intraword underscores and a "<" before a space are left alone,
// so "p99 < 50ms" and "l1.hit_ratio" stay readable in the raw file.
func mdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '<' && i+1 < len(s) && isTagStart(s[i+1]):
			b.WriteString("&lt;")
		case c == '*' || c == '`':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isTagStart(c byte) bool {
	return c == '/' || c == '!' || c == '?' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
