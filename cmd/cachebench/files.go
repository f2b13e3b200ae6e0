package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cachebench/cachebench/reports"
)

// outFile is one report to write: its path and its rendered contents.
type outFile struct {
	path string
	data []byte
}

// render renders one report into memory, so that nothing is written when rendering fails.
func render(path string, write func(*bytes.Buffer) error) (outFile, error) {
	var b bytes.Buffer
	if err := write(&b); err != nil {
		return outFile{}, fmt.Errorf("%s: %w", path, err)
	}
	return outFile{path: path, data: b.Bytes()}, nil
}

// writeFiles writes every file through a temporary file in its folder and renames them
// into place only once all are written, so a failure leaves no half-written report and,
// short of a failing rename, no partial set.
func writeFiles(files []outFile) error {
	tmps := make([]string, 0, len(files))
	cleanup := func() {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	for _, f := range files {
		dir := filepath.Dir(f.path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		tmp, err := os.CreateTemp(dir, "."+filepath.Base(f.path)+"-*")
		if err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		tmps = append(tmps, tmp.Name())
		_, werr := tmp.Write(f.data)
		cerr := tmp.Close()
		if err := errors.Join(werr, cerr); err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
		// CreateTemp makes the file 0600; a report is as readable as result.json.
		if err := os.Chmod(tmp.Name(), 0o644); err != nil {
			cleanup()
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	for i, f := range files {
		if err := os.Rename(tmps[i], f.path); err != nil {
			for _, t := range tmps[i:] {
				os.Remove(t)
			}
			return fmt.Errorf("write %s: %w", f.path, err)
		}
	}
	return nil
}

// Report formats of `cachebench report` and `cachebench run`.
const (
	formatMD   = "md"
	formatHTML = "html"
	formatCSV  = "csv"
)

var reportFormats = []string{formatMD, formatHTML, formatCSV}

// runReportFiles renders the report of one run into dir: report.md, report.html and
// report.csv (the per-second timeline), for each format asked for.
func runReportFiles(dir string, r *reports.Result, formats []string) ([]outFile, error) {
	return reportFiles(dir, "report", formats, map[string]func(*bytes.Buffer) error{
		formatMD:   func(b *bytes.Buffer) error { return reports.WriteMarkdown(b, r) },
		formatHTML: func(b *bytes.Buffer) error { return reports.WriteHTML(b, r) },
		formatCSV:  func(b *bytes.Buffer) error { return reports.WriteCSV(b, r) },
	})
}

// sweepReportFiles renders a sweep's report into dir: sweep.md, sweep.html and sweep.csv,
// for each format asked for.
func sweepReportFiles(dir string, s reports.SweepReport, formats []string) ([]outFile, error) {
	return reportFiles(dir, "sweep", formats, map[string]func(*bytes.Buffer) error{
		formatMD:   func(b *bytes.Buffer) error { return reports.WriteSweepMarkdown(b, s) },
		formatHTML: func(b *bytes.Buffer) error { return reports.WriteSweepHTML(b, s) },
		formatCSV:  func(b *bytes.Buffer) error { return reports.WriteSweepCSV(b, s) },
	})
}

// reportFiles renders dir/base.FORMAT with write[FORMAT] for each format asked for.
func reportFiles(dir, base string, formats []string, write map[string]func(*bytes.Buffer) error) ([]outFile, error) {
	out := make([]outFile, 0, len(formats))
	for _, f := range formats {
		w, ok := write[f]
		if !ok {
			return nil, fmt.Errorf("unknown report format %q: choose from md, html, csv", f)
		}
		file, err := render(filepath.Join(dir, base+"."+f), w)
		if err != nil {
			return nil, err
		}
		out = append(out, file)
	}
	return out, nil
}

// repeatsFile renders the summary of repeated runs of one configuration (their means and
// 95% confidence intervals) as dir/compare.md.
func repeatsFile(dir string, results []*reports.Result) (outFile, error) {
	c := reports.Compare(results)
	return render(filepath.Join(dir, "compare.md"), func(b *bytes.Buffer) error { return reports.WriteCompare(b, c, "md") })
}

// foundResult is a result read from disk and the path it came from.
type foundResult struct {
	path string
	res  *reports.Result
}

// loadResults reads the results a command-line argument names: the file itself, or every
// result.json in the folder and below it, in path order. Every problem is bad input and
// its message names the file and the fix.
func loadResults(arg string) ([]foundResult, error) {
	st, err := os.Stat(arg)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, usageError{fmt.Errorf("%s does not exist: give a result.json or a folder that holds them (cachebench run writes them under results/)", arg)}
	}
	if err != nil {
		return nil, usageError{fmt.Errorf("%s: %w", arg, err)}
	}
	var paths []string
	if st.IsDir() {
		err := filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == "result.json" {
				paths = append(paths, p)
			}
			return nil
		})
		if err != nil {
			return nil, usageError{fmt.Errorf("search %s for result.json: %w", arg, err)}
		}
		if len(paths) == 0 {
			return nil, usageError{fmt.Errorf("no result.json under %s: give the --out folder of a cachebench run, or a result.json", arg)}
		}
		sort.Strings(paths)
	} else {
		paths = []string{arg}
	}
	out := make([]foundResult, 0, len(paths))
	for _, p := range paths {
		r, err := reports.Read(p)
		if err != nil {
			return nil, usageError{err}
		}
		out = append(out, foundResult{path: p, res: r})
	}
	return out, nil
}

// commonDir is the deepest folder that holds every one of the files.
func commonDir(paths []string) string {
	if len(paths) == 0 {
		return "."
	}
	for _, p := range paths {
		if filepath.IsAbs(p) {
			// Rel cannot relate an absolute path to a relative one: compare absolute paths.
			abs := make([]string, len(paths))
			for i, q := range paths {
				a, err := filepath.Abs(q)
				if err != nil {
					return "."
				}
				abs[i] = a
			}
			paths = abs
			break
		}
	}
	dir := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		d := filepath.Dir(p)
		for !within(d, dir) {
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return dir
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
