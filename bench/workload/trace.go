package workload

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// Trace is a recorded request stream to replay: for each request its time, key and
// operation. It supplies both the schedule and the keys of a trace scenario.
type Trace struct {
	rows    []traceRow
	ids     []string // distinct keys' IDs, in order of first appearance
	objects []string // the object type of each key
}

type traceRow struct {
	at  time.Duration
	key int32
	op  Op
}

// maxTraceErrors is how many bad lines ParseTrace reports before it gives up.
const maxTraceErrors = 10

// LoadTrace reads a trace file; see ParseTrace for the format.
func LoadTrace(path string) (*Trace, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace file: %w", err)
	}
	defer f.Close()
	return ParseTrace(f, path)
}

// ParseTrace reads a trace in CSV, one request per row: time,key,operation.
//
//   - time is in seconds from the start of the run (a decimal number such as 12.5); rows
//     must be in time order (equal times are fine).
//   - key is a Stripe object ID whose prefix gives its type (cus_, sub_, price_, in_,
//     prod_), or object:ID (customer:cus_123) for any ID. IDs are letters, digits, '_',
//     '-' and '.'.
//   - operation is get or update.
//
// A first row time,key,operation is a header and skipped; lines starting with # are
// comments. Errors name name:line, say what is wrong and how to fix it; up to ten bad
// lines are reported at once.
func ParseTrace(r io.Reader, name string) (*Trace, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true

	tr := &Trace{}
	index := map[string]int32{}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	prev := time.Duration(-1)
	first := true
	for len(errs) < maxTraceErrors {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				bad(pe.Line, "%v: write plain time,key,operation fields (quote a field that has a comma)", pe.Err)
			} else {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
			}
			break
		}
		line, _ := cr.FieldPos(0)
		isHeader := first && strings.EqualFold(strings.TrimSpace(rec[0]), "time")
		first = false
		if isHeader {
			continue
		}
		if len(rec) != 3 {
			bad(line, "%d fields, want 3: time,key,operation (e.g. 1.5,cus_123,get)", len(rec))
			continue
		}
		row, key, err := parseTraceRow(rec)
		if err != nil {
			bad(line, "%v", err)
			continue
		}
		if row.at < prev {
			bad(line, "time %s is before the previous row's %s: sort the rows by time", rec[0], fmtSeconds(prev))
			continue
		}
		prev = row.at
		k, ok := index[key.name]
		if !ok {
			if len(tr.ids) >= maxKeys {
				bad(line, "more than %d distinct keys", maxKeys)
				continue
			}
			k = int32(len(tr.ids))
			index[key.name] = k
			tr.ids = append(tr.ids, key.id)
			tr.objects = append(tr.objects, key.object)
		}
		row.key = k
		tr.rows = append(tr.rows, row)
	}
	if len(errs) == maxTraceErrors {
		errs = append(errs, fmt.Errorf("%s: stopped after %d bad lines", name, maxTraceErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(tr.rows) == 0 {
		return nil, fmt.Errorf("%s: no requests: write one time,key,operation row per request (e.g. 0.25,cus_123,get)", name)
	}
	return tr, nil
}

type traceKey struct{ name, object, id string }

func parseTraceRow(rec []string) (traceRow, traceKey, error) {
	var row traceRow
	var key traceKey
	ts := strings.TrimSpace(rec[0])
	sec, err := strconv.ParseFloat(ts, 64)
	if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return row, key, fmt.Errorf("time %q is not a number: write seconds from the start, e.g. 1.25", ts)
	}
	if sec < 0 || sec*1e9 >= math.MaxInt64 {
		return row, key, fmt.Errorf("time %s is out of range: write seconds from the start, >= 0", ts)
	}
	row.at = seconds(sec)

	k := strings.TrimSpace(rec[1])
	if obj, id, ok := strings.Cut(k, ":"); ok {
		if _, known := IDPrefix(obj); !known {
			return row, key, fmt.Errorf("key %q: unknown object type %q: use one of %s", k, obj, strings.Join(ObjectTypes(), ", "))
		}
		key.object, key.id = obj, id
	} else {
		obj, known := objectOfID(k)
		if !known {
			return row, key, fmt.Errorf("key %q has no known ID prefix: use cus_, sub_, price_, in_ or prod_, or write object:ID (e.g. customer:%s)", k, k)
		}
		key.object, key.id = obj, k
	}
	if !validID(key.id) {
		return row, key, fmt.Errorf("key %q: the ID must be letters, digits, '_', '-' or '.'", k)
	}
	key.name = key.object + ":" + key.id

	switch op := strings.TrimSpace(rec[2]); {
	case strings.EqualFold(op, "get"):
		row.op = OpGet
	case strings.EqualFold(op, "update"):
		row.op = OpUpdate
	default:
		return row, key, fmt.Errorf("operation %q is unknown: use get or update", op)
	}
	return row, key, nil
}

// fmtSeconds writes d in seconds, as in a trace.
func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Len returns the number of requests in t.
func (t *Trace) Len() int { return len(t.rows) }

// Count returns the number of distinct keys in t; key indices are in [0, Count()), in order
// of first appearance.
func (t *Trace) Count() int { return len(t.ids) }

// Key returns the object type and ID of key index i.
func (t *Trace) Key(i int) (object, id string) { return t.objects[i], t.ids[i] }

// Span returns the time of t's last request.
func (t *Trace) Span() time.Duration { return t.rows[len(t.rows)-1].at }

// requests returns how many of t's requests are before horizon (<= 0: all).
func (t *Trace) requests(horizon time.Duration) int {
	if horizon <= 0 {
		return len(t.rows)
	}
	lo, hi := 0, len(t.rows)
	for lo < hi { // first row at or after horizon
		m := int(uint(lo+hi) >> 1)
		if t.rows[m].at < horizon {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Schedule returns the times of t's requests before horizon (<= 0: all) as a Schedule.
func (t *Trace) Schedule(horizon time.Duration) Schedule {
	return &traceSchedule{rows: t.rows[:t.requests(horizon)]}
}

type traceSchedule struct {
	rows []traceRow
	i    int
}

func (s *traceSchedule) Next() (time.Duration, bool) {
	if s.i >= len(s.rows) {
		return 0, false
	}
	s.i++
	return s.rows[s.i-1].at, true
}

// Keys returns a chooser of t's keys in t's order, from the start again after the last
// row. It ignores the time it is given.
func (t *Trace) Keys() KeyChooser { return &traceKeys{t: t} }

type traceKeys struct {
	t *Trace
	i int
}

func (k *traceKeys) Next(time.Duration) int {
	key := int(k.t.rows[k.i].key)
	if k.i++; k.i == len(k.t.rows) {
		k.i = 0
	}
	return key
}

func (k *traceKeys) Count() int { return len(k.t.ids) }

// TracePath returns the path of s's trace file: keys.trace as written when it is absolute
// or when s has no file; else relative to the scenario file's directory when a file is
// there, and as written (relative to the working directory) otherwise, in case the parser
// has already resolved it.
func TracePath(s *scenarios.Scenario) string {
	p := s.Keys.Trace
	if p == "" || filepath.IsAbs(p) || s.File == "" {
		return p
	}
	rel := filepath.Join(filepath.Dir(s.File), p)
	if _, err := os.Stat(rel); err == nil {
		return rel
	}
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return rel
}
