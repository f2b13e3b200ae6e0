package workload

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

func TestLoadTrace(t *testing.T) {
	tr, err := LoadTrace("testdata/trace.csv")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Len() != 6 || tr.Count() != 4 || tr.Span() != 3*time.Second {
		t.Fatalf("Len %d Count %d Span %v, want 6, 4, 3s", tr.Len(), tr.Count(), tr.Span())
	}
	type row struct {
		at     time.Duration
		object string
		id     string
		op     Op
	}
	want := []row{
		{0, ObjectCustomer, "cus_a", OpGet},
		{500 * time.Millisecond, ObjectCustomer, "cus_b", OpGet},
		{500 * time.Millisecond, ObjectCustomer, "cus_a", OpUpdate},
		{1250 * time.Millisecond, ObjectSubscription, "sub_x", OpGet},
		{2 * time.Second, ObjectPrice, "pr-1.x", OpGet},
		{3 * time.Second, ObjectCustomer, "cus_b", OpGet},
	}
	rows := allRows(t, tr)
	if len(rows) != len(want) {
		t.Fatalf("%d rows streamed, want %d", len(rows), len(want))
	}
	for i, w := range want {
		r := rows[i]
		obj, id := tr.Key(int(r.key))
		if got := (row{r.at, obj, id, r.op}); got != w {
			t.Errorf("row %d: %+v, want %+v", i, got, w)
		}
	}
	sched := tr.Schedule(2 * time.Second)
	for i := range 4 {
		if at, ok := sched.Next(); !ok || at != want[i].at {
			t.Fatalf("schedule %d: %v, %v; want %v", i, at, ok, want[i].at)
		}
	}
	if at, ok := sched.Next(); ok {
		t.Fatalf("schedule past the horizon: %v", at)
	}
	keys := tr.Keys()
	for i := range 2 * len(want) { // wraps around
		obj, id := tr.Key(keys.Next(0))
		if w := want[i%len(want)]; obj != w.object || id != w.id {
			t.Fatalf("key %d: %s %s, want %s %s", i, obj, id, w.object, w.id)
		}
	}
}

func TestParseTraceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"time", "time,key,operation\n0,cus_a,get\nsoon,cus_a,get\n", []string{"bad.csv:3:", `time "soon" is not a number`, "seconds from the start"}},
		{"negative", "-1,cus_a,get\n", []string{"bad.csv:1:", "out of range"}},
		{"order", "2,cus_a,get\n1,cus_a,get\n", []string{"bad.csv:2:", "before the previous row's 2", "sort the rows by time"}},
		{"prefix", "0,acct_1,get\n", []string{"bad.csv:1:", "no known ID prefix", "customer:acct_1"}},
		{"object", "0,charge:ch_1,get\n", []string{"bad.csv:1:", `unknown object type "charge"`}},
		{"id", "0,customer:a/b,get\n", []string{"bad.csv:1:", "letters, digits"}},
		{"op", "0,cus_a,delete\n", []string{"bad.csv:1:", `operation "delete"`, "get or update"}},
		{"fields", "0,cus_a\n", []string{"bad.csv:1:", "2 fields, want 3"}},
		{"quote", "0,\"cus_a,get\n", []string{"bad.csv:1:", "quote"}},
		{"empty", "time,key,operation\n# nothing\n", []string{"bad.csv: no requests"}},
		{"several", "x,cus_a,get\n0,cus_a,get\n0,cus_a,put\n", []string{"bad.csv:1:", "bad.csv:3:"}},
		{"many", strings.Repeat("x,cus_a,get\n", 20), []string{"bad.csv:10:", "stopped after 10 bad lines"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTrace(strings.NewReader(tc.in), "bad.csv")
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
	if _, err := LoadTrace("testdata/none.csv"); err == nil || !strings.Contains(err.Error(), "testdata/none.csv") {
		t.Errorf("LoadTrace of a missing file: %v", err)
	}
}

func TestTracePath(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t.csv"), []byte("0,cus_a,get\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &scenarios.Scenario{File: filepath.Join(dir, "s.yaml"), Keys: scenarios.Keys{Trace: "t.csv"}}
	if got := TracePath(s); got != filepath.Join(dir, "t.csv") {
		t.Errorf("relative to the scenario: %q", got)
	}
	s.Keys.Trace = "testdata/trace.csv" // already resolved against the working directory
	if got := TracePath(s); got != "testdata/trace.csv" {
		t.Errorf("resolved already: %q", got)
	}
	s.Keys.Trace = "/abs/t.csv"
	if got := TracePath(s); got != "/abs/t.csv" {
		t.Errorf("absolute: %q", got)
	}
}

func FuzzParseTrace(f *testing.F) {
	data, err := os.ReadFile("testdata/trace.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(data))
	f.Add("0,cus_a,get\n1e-9,customer:x,update\r\n")
	f.Add("0,\"cus_a\",get\n")
	f.Fuzz(func(t *testing.T, in string) {
		tr, err := ParseTrace(strings.NewReader(in), "fuzz.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if tr.Len() == 0 || tr.Count() == 0 || tr.Count() > tr.Len() {
			t.Fatalf("Len %d Count %d", tr.Len(), tr.Count())
		}
		prev := time.Duration(0)
		rows := allRows(t, tr)
		if len(rows) != tr.Len() {
			t.Fatalf("%d rows streamed, %d checked", len(rows), tr.Len())
		}
		for _, r := range rows {
			obj, id := tr.Key(int(r.key))
			if r.at < prev || !validID(id) || checkObject("", obj) != nil || r.op > OpUpdate {
				t.Fatalf("bad row %+v (%s %q)", r, obj, id)
			}
			prev = r.at
		}
	})
}

// allRows streams every row of tr.
func allRows(t testing.TB, tr *Trace) []traceRow {
	t.Helper()
	s := tr.stream()
	var rows []traceRow
	var r traceRow
	for s.next(&r) {
		rows = append(rows, r)
	}
	if err := s.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	return rows
}
