package workload

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/cachebench/cachebench/scenarios"
)

func zstdBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func gzipBytes(data []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(data)
	w.Close()
	return b.Bytes()
}

func oracleRecords(recs ...[2]uint64) []byte {
	var b bytes.Buffer
	var r [24]byte
	for _, rec := range recs {
		binary.LittleEndian.PutUint32(r[0:4], uint32(rec[0]))
		binary.LittleEndian.PutUint64(r[4:12], rec[1])
		binary.LittleEndian.PutUint32(r[12:16], 100)
		binary.LittleEndian.PutUint64(r[16:24], 1)
		b.Write(r[:])
	}
	return b.Bytes()
}

const twitterSample = `1000,key:a,5,100,7,get,0
1000,key:b,5,100,7,gets,0
1001,key:a,5,120,7,set,3600
1003,key:c,5,100,7,delete,0
1003,key:b,5,100,7,get,0
`

// TestTraceFormats reads each format. Twitter's and oracleGeneral's whole-second times
// are spread evenly across their second (two rows of second 3: 3 s and 3.5 s).
func TestTraceFormats(t *testing.T) {
	type row struct {
		at  time.Duration
		key int32
		op  Op
	}
	for _, tc := range []struct {
		name  string
		opt   TraceOptions
		data  []byte
		keys  int
		want  []row
		first string // the first key's ID
	}{
		{"twitter", TraceOptions{Format: scenarios.TraceTwitter}, []byte(twitterSample), 3,
			[]row{{0, 0, OpGet}, {500 * time.Millisecond, 1, OpGet}, {time.Second, 0, OpUpdate}, {3 * time.Second, 2, OpUpdate}, {3500 * time.Millisecond, 1, OpGet}}, "cus_tr0000000000"},
		{"twitter-zstd", TraceOptions{Format: scenarios.TraceTwitter, Object: ObjectPrice}, zstdBytes(t, []byte(twitterSample)), 3,
			[]row{{0, 0, OpGet}, {500 * time.Millisecond, 1, OpGet}, {time.Second, 0, OpUpdate}, {3 * time.Second, 2, OpUpdate}, {3500 * time.Millisecond, 1, OpGet}}, "price_tr0000000000"},
		{"oracle-gzip", TraceOptions{Format: scenarios.TraceOracleGeneral}, gzipBytes(oracleRecords([2]uint64{50, 9}, [2]uint64{52, 4}, [2]uint64{52, 9})), 2,
			[]row{{0, 0, OpGet}, {2 * time.Second, 1, OpGet}, {2500 * time.Millisecond, 0, OpGet}}, "cus_tr0000000000"},
		{"oracle-speed", TraceOptions{Format: scenarios.TraceOracleGeneral, Speed: 4}, oracleRecords([2]uint64{50, 9}, [2]uint64{52, 4}), 2,
			[]row{{0, 0, OpGet}, {500 * time.Millisecond, 1, OpGet}}, "cus_tr0000000000"},
		{"csv-mapped", TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Time: 2, Key: 4, Op: 3}, Writes: []string{"PUT", "delete"}},
			[]byte("id,ts,method,object\n1,10.5,GET,x\n2,11,put,y\n3,12,Delete,x\n4,12,HEAD,\"y\"\n"), 2,
			[]row{{0, 0, OpGet}, {500 * time.Millisecond, 1, OpUpdate}, {1500 * time.Millisecond, 0, OpUpdate}, {1500 * time.Millisecond, 1, OpGet}}, "cus_tr0000000000"},
		{"csv-rate", TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Key: 1}, Rate: 4},
			[]byte("x\ny\nx\n"), 2,
			[]row{{0, 0, OpGet}, {250 * time.Millisecond, 1, OpGet}, {500 * time.Millisecond, 0, OpGet}}, "cus_tr0000000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := ParseTraceWith(bytes.NewReader(tc.data), tc.name, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Count() != tc.keys || tr.Len() != len(tc.want) {
				t.Fatalf("Count %d Len %d, want %d %d", tr.Count(), tr.Len(), tc.keys, len(tc.want))
			}
			if _, id := tr.Key(0); id != tc.first {
				t.Errorf("first ID %q, want %q", id, tc.first)
			}
			rows := allRows(t, tr)
			for i, w := range tc.want {
				if got := (row{rows[i].at, rows[i].key, rows[i].op}); got != w {
					t.Errorf("row %d: %+v, want %+v", i, got, w)
				}
			}
			// A trace of whole seconds, whose rows are spread across each, ends with its last
			// second, after its last row and at most a second later; the others end with their
			// last row.
			last := tc.want[len(tc.want)-1].at
			if tr.spread() {
				if tr.Span() <= last || tr.Span() > last+time.Second {
					t.Errorf("Span %v: want the end of the last second, in (%v, %v]", tr.Span(), last, last+time.Second)
				}
			} else if tr.Span() != last {
				t.Errorf("Span %v, want the last row's %v", tr.Span(), last)
			}
		})
	}
}

// TestTraceSizes: each key's size is the largest value size its rows record, capped at
// MaxValueBytes; SizeOf finds it by the ID the trace gave the key; a format without sizes
// has none.
func TestTraceSizes(t *testing.T) {
	tw, err := ParseTraceWith(strings.NewReader(twitterSample), "tw", TraceOptions{Format: scenarios.TraceTwitter})
	if err != nil {
		t.Fatal(err)
	}
	if !tw.Sized() || tw.Size(0) != 120 || tw.Size(1) != 100 || tw.Size(2) != 100 {
		t.Errorf("twitter sizes %d %d %d, want 120 (key:a's largest) 100 100", tw.Size(0), tw.Size(1), tw.Size(2))
	}
	if got := tw.SizeOf(ObjectCustomer, "cus_tr0000000000"); got != 120 {
		t.Errorf("SizeOf(customer, cus_tr0000000000) = %d, want 120", got)
	}
	for _, ref := range [][2]string{{ObjectPrice, "cus_tr0000000000"}, {ObjectCustomer, "cus_tr0000000009"}, {ObjectCustomer, "cus_123"}} {
		if got := tw.SizeOf(ref[0], ref[1]); got != 0 {
			t.Errorf("SizeOf(%s, %s) = %d, want 0: not a key of the trace", ref[0], ref[1], got)
		}
	}
	csv, err := ParseTraceWith(strings.NewReader("a,10\nb,999999999\n"), "c", TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Key: 1, Size: 2}, Rate: 10})
	if err != nil {
		t.Fatal(err)
	}
	keys, mean, largest, capped := csv.SizeSummary()
	if keys != 2 || largest != MaxValueBytes || capped != 1 || mean != (10+MaxValueBytes)/2.0 {
		t.Errorf("csv sizes: %d keys, mean %v, largest %d, %d capped; want 2, %v, %d, 1", keys, mean, largest, capped, (10+MaxValueBytes)/2.0, MaxValueBytes)
	}
	own, err := ParseTraceWith(strings.NewReader("0,cus_1,get\n"), "o", TraceOptions{Format: scenarios.TraceCachebench})
	if err != nil {
		t.Fatal(err)
	}
	if own.Sized() || own.SizeOf(ObjectCustomer, "cus_1") != 0 {
		t.Error("a cachebench trace records no sizes")
	}
}

func TestTraceFormatErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  TraceOptions
		in   []byte
		want []string
	}{
		{"twitter-fields", TraceOptions{Format: scenarios.TraceTwitter}, []byte("1,a,get\n"), []string{"t:1:", "3 fields, want Twitter's 7"}},
		{"twitter-op", TraceOptions{Format: scenarios.TraceTwitter}, []byte("1,a,1,1,1,frob,0\n"), []string{"t:1:", `"frob"`}},
		{"twitter-order", TraceOptions{Format: scenarios.TraceTwitter}, []byte("5,a,1,1,1,get,0\n4,a,1,1,1,get,0\n"), []string{"t:2:", "sort the rows by time"}},
		{"oracle-truncated", TraceOptions{Format: scenarios.TraceOracleGeneral}, oracleRecords([2]uint64{1, 1})[:30], []string{"record", "truncated"}},
		{"oracle-empty", TraceOptions{Format: scenarios.TraceOracleGeneral}, nil, []string{"no requests"}},
		{"twitter-size", TraceOptions{Format: scenarios.TraceTwitter}, []byte("1,a,1,big,1,get,0\n"), []string{"t:1:", `value size "big" is not a whole number`}},
		{"csv-size", TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Key: 1, Size: 2}, Rate: 1}, []byte("a,-4\n"), []string{"t:1:", `size (column 2) "-4"`}},
		{"csv-columns", TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Time: 1, Key: 5}}, []byte("1,a\n"), []string{"t:1:", "trace_columns.key is column 5"}},
		{"gzip-corrupt", TraceOptions{Format: scenarios.TraceTwitter}, []byte{0x1f, 0x8b, 0, 0}, []string{"t", "gzip"}},
		{"long-line", TraceOptions{Format: scenarios.TraceTwitter}, bytes.Repeat([]byte("x"), maxLine+10), []string{"longer than"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTraceWith(bytes.NewReader(tc.in), "t", tc.opt)
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

func TestTraceFormatOf(t *testing.T) {
	for name, want := range map[string]string{
		"w.csv": scenarios.TraceCachebench, "cloudPhysicsIO.oracleGeneral.bin": scenarios.TraceOracleGeneral,
		"x.oracleGeneral.zst": scenarios.TraceOracleGeneral, "cluster52.000.zst": scenarios.TraceTwitter,
		"twitter-sample.csv.gz": scenarios.TraceTwitter, "t.csv.gz": scenarios.TraceCachebench,
	} {
		if got, err := TraceFormatOf(name); got != want || err != nil {
			t.Errorf("%s: %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := TraceFormatOf("trace.bin"); err == nil || !strings.Contains(err.Error(), "keys.trace_format") {
		t.Errorf("trace.bin: %v", err)
	}
}

// TestTraceFileStreams checks that a compressed file on disk replays the same rows it
// was checked with, from the file each time.
func TestTraceFileStreams(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.twitter.zst")
	if err := os.WriteFile(path, zstdBytes(t, []byte(twitterSample)), 0o644); err != nil {
		t.Fatal(err)
	}
	tr, err := LoadTraceWith(path, TraceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Format() != scenarios.TraceTwitter || len(allRows(t, tr)) != 5 || len(allRows(t, tr)) != 5 {
		t.Fatalf("format %s", tr.Format())
	}
}

func fuzzTrace(f *testing.F, opt TraceOptions, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
		f.Add(gzipBytes(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tr, err := ParseTraceWith(bytes.NewReader(in), "fuzz", opt)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		if tr.Len() == 0 || tr.Count() == 0 || tr.Count() > tr.Len() {
			t.Fatalf("Len %d Count %d", tr.Len(), tr.Count())
		}
		rows := allRows(t, tr)
		if len(rows) != tr.Len() {
			t.Fatalf("%d rows streamed, %d checked", len(rows), tr.Len())
		}
		prev := time.Duration(0)
		for _, r := range rows {
			obj, id := tr.Key(int(r.key))
			if r.at < prev || !validID(id) || checkObject("", obj) != nil || r.op > OpUpdate {
				t.Fatalf("bad row %+v (%s %q)", r, obj, id)
			}
			prev = r.at
		}
	})
}

func FuzzTraceTwitter(f *testing.F) {
	fuzzTrace(f, TraceOptions{Format: scenarios.TraceTwitter}, []byte(twitterSample))
}

func FuzzTraceOracleGeneral(f *testing.F) {
	fuzzTrace(f, TraceOptions{Format: scenarios.TraceOracleGeneral}, oracleRecords([2]uint64{1, 2}, [2]uint64{3, 2}, [2]uint64{3, 4}))
}

func FuzzTraceCSV(f *testing.F) {
	fuzzTrace(f, TraceOptions{Format: scenarios.TraceCSV, Columns: scenarios.TraceColumns{Time: 2, Key: 1, Op: 3}, Writes: []string{"w"}},
		[]byte("k,ts,op\na,1,r\nb,2,w\n\"a,b\",3,r\n"))
}
