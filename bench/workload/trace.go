package workload

import (
	"bufio"
	"bytes"
	"encoding/binary"
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
	"unsafe"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/cachebench/cachebench/scenarios"
)

// Trace is a recorded request stream to replay: for each request its time, key and
// operation. It supplies both the schedule and the keys of a trace scenario.
//
// A Trace is read twice. LoadTrace reads the whole file once, checking every row and
// numbering the distinct keys (so the keyspace is the trace's own, and a bad row is
// reported with its line before any load is offered); the replay then streams the rows
// again from the file. Memory is bounded by the number of distinct keys, not of rows.
type Trace struct {
	name string
	opt  TraceOptions // Format resolved
	open func() (io.ReadCloser, error)

	ids     []string // distinct keys' IDs, in order of first appearance
	objects []string // the object type of each key
	index   map[string]int32
	nums    map[uint64]int32 // oracle-general's numeric object IDs

	rows        int
	updates     int           // rows that are updates
	first, last time.Duration // recorded times of the first and last rows

	// sizes are the value sizes of the keys, the largest each row of the key recorded,
	// capped at MaxValueBytes; nil when the trace records none.
	sizes  []uint32
	capped int // keys whose recorded size was above MaxValueBytes
}

// MaxValueBytes caps the value size a trace can give one object: a DynamoDB item holds
// at most 400 KB, attribute names and the cache's own fields included, and no Stripe
// object comes near it.
const MaxValueBytes = 350 << 10

// TraceOptions say how to read a trace file.
type TraceOptions struct {
	// Format is one of scenarios.TraceCachebench, TraceOracleGeneral, TraceTwitter and
	// TraceCSV; empty means: tell by the file's name (see TraceFormatOf).
	Format string
	// Columns and Writes describe a csv trace.
	Columns scenarios.TraceColumns
	Writes  []string
	// Object is the object type of keys that are not Stripe IDs (every format but
	// cachebench's): each distinct key becomes one object of this type. Default customer.
	Object string
	// Speed plays the recorded times that many times faster (0: 1); Rate, when > 0,
	// replaces them with Rate rows a second.
	Speed, Rate float64
}

// TraceOptionsOf returns the trace options of a scenario's keys section.
func TraceOptionsOf(k scenarios.Keys) TraceOptions {
	return TraceOptions{
		Format: k.TraceFormat, Columns: k.TraceColumns, Writes: k.TraceWrites,
		Object: k.Object, Speed: k.TraceSpeed, Rate: k.TraceRate,
	}
}

// maxTraceErrors is how many bad lines a trace's check reports before it gives up.
const maxTraceErrors = 10

// TraceFormatOf tells a trace's format by its file name, a compression suffix (.gz,
// .zst) aside: a name with "oracleGeneral" in it is libCacheSim's binary format, one with
// "twitter" (or Twitter's cluster files, clusterN...) is Twitter's CSV, and a .csv file is
// cachebench's own CSV. Anything else is an error that says how to name the format.
func TraceFormatOf(path string) (string, error) {
	base := filepath.Base(path)
	for _, ext := range []string{".gz", ".zst", ".zstd"} {
		base = strings.TrimSuffix(base, ext)
	}
	lower := strings.ToLower(base)
	switch {
	case strings.Contains(lower, "oraclegeneral") || strings.Contains(lower, "oracle-general"):
		return scenarios.TraceOracleGeneral, nil
	case strings.Contains(lower, "twitter") || strings.HasPrefix(lower, "cluster"):
		return scenarios.TraceTwitter, nil
	case strings.HasSuffix(lower, ".csv"):
		return scenarios.TraceCachebench, nil
	}
	return "", fmt.Errorf("cannot tell the format of trace %s from its name: set keys.trace_format: cachebench | oracle-general | twitter | csv", path)
}

// LoadTrace checks a cachebench CSV trace file; see LoadTraceWith.
func LoadTrace(path string) (*Trace, error) {
	return LoadTraceWith(path, TraceOptions{Format: scenarios.TraceCachebench})
}

// LoadTraceWith reads the trace file at path once, in the format opt names, checking
// every row and numbering the distinct keys; the file is read again, streamed, when the
// trace is replayed. A gzip or zstd file is decompressed whatever its name. Errors name
// path:line (path:record for the binary format), say what is wrong and how to fix it; up
// to ten bad lines are reported at once.
func LoadTraceWith(path string, opt TraceOptions) (*Trace, error) {
	if opt.Format == "" {
		f, err := TraceFormatOf(path)
		if err != nil {
			return nil, err
		}
		opt.Format = f
	}
	open := func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("trace file: %w", err)
		}
		return decompress(f, path)
	}
	return loadTrace(path, opt, open)
}

// ParseTrace reads a trace in cachebench's CSV, one request per row: time,key,operation.
//
//   - time is in seconds from the start of the run (a decimal number such as 12.5); rows
//     must be in time order (equal times are fine).
//   - key is a Stripe object ID whose prefix gives its type (cus_, sub_, price_, in_,
//     prod_), or object:ID (customer:cus_123) for any ID. IDs are letters, digits, '_',
//     '-' and '.'.
//   - operation is get or update.
//
// A first row time,key,operation is a header and skipped; lines starting with # are
// comments. r is read into memory; LoadTrace streams a file instead.
func ParseTrace(r io.Reader, name string) (*Trace, error) {
	return ParseTraceWith(r, name, TraceOptions{Format: scenarios.TraceCachebench})
}

// ParseTraceWith is ParseTrace for any format: r is read into memory (decompressed if it
// is gzip or zstd) and checked as LoadTraceWith checks a file. opt.Format must be set.
func ParseTraceWith(r io.Reader, name string, opt TraceOptions) (*Trace, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	open := func() (io.ReadCloser, error) {
		return decompress(io.NopCloser(bytes.NewReader(data)), name)
	}
	return loadTrace(name, opt, open)
}

func loadTrace(name string, opt TraceOptions, open func() (io.ReadCloser, error)) (*Trace, error) {
	if opt.Object == "" {
		opt.Object = ObjectCustomer
	}
	prefix, ok := IDPrefix(opt.Object)
	if !ok {
		return nil, fmt.Errorf("keys.object: unknown object type %q: use one of %s", opt.Object, strings.Join(ObjectTypes(), ", "))
	}
	tr := &Trace{name: name, opt: opt, open: open, index: map[string]int32{}}
	if opt.Format == scenarios.TraceOracleGeneral {
		tr.nums = map[uint64]int32{}
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rr, err := newRecordReader(rc, name, opt)
	if err != nil {
		return nil, err
	}
	var errs []error
	var rec traceRecord
	prev := time.Duration(math.MinInt64)
	for len(errs) < maxTraceErrors {
		err := rr.read(&rec)
		if err == io.EOF {
			break
		}
		var re *rowError
		if errors.As(err, &re) {
			errs = append(errs, err)
			continue
		}
		if err != nil {
			errs = append(errs, err)
			break
		}
		if rec.at < prev {
			errs = append(errs, rr.bad("time %s is before the previous row's %s: sort the rows by time", fmtSeconds(rec.at), fmtSeconds(prev)))
			continue
		}
		prev = rec.at
		k, known := tr.lookup(&rec)
		if !known {
			if len(tr.ids) >= maxKeys {
				errs = append(errs, rr.bad("more than %d distinct keys", maxKeys))
				break
			}
			k = int32(len(tr.ids))
			obj, id := rec.object, strings.Clone(rec.id) // rec's strings point into a buffer
			if obj == "" {
				obj, id = opt.Object, fmt.Sprintf("%s_tr%010d", prefix, k)
			}
			tr.ids = append(tr.ids, id)
			tr.objects = append(tr.objects, obj)
			switch {
			case rec.numeric:
				tr.nums[rec.num] = k
			default:
				tr.index[strings.Clone(rec.key)] = k
				if alias := rec.aliasOf(); alias != "" {
					tr.index[alias] = k
				}
			}
		}
		if rec.size > 0 {
			tr.noteSize(k, rec.size)
		}
		if tr.rows == 0 {
			tr.first = rec.at
		}
		tr.last = rec.at
		tr.rows++
		if rec.op == OpUpdate {
			tr.updates++
		}
	}
	if len(errs) == maxTraceErrors {
		errs = append(errs, fmt.Errorf("%s: stopped after %d bad lines", name, maxTraceErrors))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if tr.rows == 0 {
		return nil, fmt.Errorf("%s: no requests: a %s trace needs at least one row (%s)", name, opt.Format, formatExample(opt.Format))
	}
	return tr, nil
}

func formatExample(format string) string {
	switch format {
	case scenarios.TraceOracleGeneral:
		return "24-byte records: timestamp u32, object id u64, size u32, next access i64, little-endian"
	case scenarios.TraceTwitter:
		return "timestamp,key,key size,value size,client id,operation,TTL, e.g. 0,k1,2,100,1,get,0"
	case scenarios.TraceCSV:
		return "the columns trace_columns names"
	}
	return "time,key,operation, e.g. 0.25,cus_123,get"
}

// noteSize records a value size of key k: a key's size is the largest its rows record.
func (t *Trace) noteSize(k int32, size int64) {
	if t.sizes == nil {
		t.sizes = make([]uint32, 0, len(t.ids))
	}
	for len(t.sizes) <= int(k) {
		t.sizes = append(t.sizes, 0)
	}
	if size > MaxValueBytes {
		if t.sizes[k] < MaxValueBytes {
			t.capped++
		}
		size = MaxValueBytes
	}
	t.sizes[k] = max(t.sizes[k], uint32(size))
}

// Sized reports whether the trace records value sizes (Twitter's and oracleGeneral's
// formats do, and a csv trace with trace_columns.size).
func (t *Trace) Sized() bool { return t.sizes != nil }

// Size returns the value size of key i in bytes, 0 when the trace recorded none.
func (t *Trace) Size(i int) int {
	if i < 0 || i >= len(t.sizes) {
		return 0
	}
	return int(t.sizes[i])
}

// SizeOf returns the value size of the object the trace named object/id (the IDs it
// makes for keys that are not Stripe IDs), 0 for any other object.
func (t *Trace) SizeOf(object, id string) int {
	if t.sizes == nil {
		return 0
	}
	_, num, ok := strings.Cut(id, "_tr")
	if !ok || len(num) != 10 {
		return 0
	}
	k, err := strconv.Atoi(num)
	if err != nil || k < 0 || k >= len(t.ids) || t.ids[k] != id || t.objects[k] != object {
		return 0
	}
	return t.Size(k)
}

// SizeSummary describes the value sizes: the keys with one, their mean and largest size
// in bytes, and how many were capped at MaxValueBytes.
func (t *Trace) SizeSummary() (keys int, mean float64, largest int, capped int) {
	var sum float64
	for _, s := range t.sizes {
		if s > 0 {
			keys++
			sum += float64(s)
			largest = max(largest, int(s))
		}
	}
	if keys > 0 {
		mean = sum / float64(keys)
	}
	return keys, mean, largest, t.capped
}

// lookup returns the key index of rec and whether it is known.
func (t *Trace) lookup(rec *traceRecord) (int32, bool) {
	if rec.numeric {
		k, ok := t.nums[rec.num]
		return k, ok
	}
	k, ok := t.index[rec.key]
	return k, ok
}

// decompress wraps rc in a gzip or zstd reader when its first bytes say so.
func decompress(rc io.ReadCloser, name string) (io.ReadCloser, error) {
	br := bufio.NewReaderSize(rc, 1<<16)
	magic, _ := br.Peek(4)
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(br)
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: gzip: %w", name, err)
		}
		return readCloser{Reader: bufio.NewReaderSize(zr, 1<<16), close: func() error { zr.Close(); return rc.Close() }}, nil
	case len(magic) == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd:
		zr, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if err != nil {
			rc.Close()
			return nil, fmt.Errorf("%s: zstd: %w", name, err)
		}
		return readCloser{Reader: bufio.NewReaderSize(zr, 1<<16), close: func() error { zr.Close(); return rc.Close() }}, nil
	}
	return readCloser{Reader: br, close: rc.Close}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// traceRecord is one row as a reader gives it.
type traceRecord struct {
	at time.Duration // the recorded time
	op Op
	// key is the key as written (numeric false); num the binary format's object ID.
	key     string
	num     uint64
	numeric bool
	// object and id are set for keys that are Stripe IDs (cachebench's format).
	object, id string
	// size is the value size in bytes the row records (0: none).
	size int64
}

// aliasOf returns the other spelling of a Stripe-ID key (customer:cus_1 for cus_1 and the
// other way round), or "".
func (rec *traceRecord) aliasOf() string {
	if rec.object == "" {
		return ""
	}
	if name := rec.object + ":" + rec.id; name != rec.key {
		return name
	}
	if o, ok := objectOfID(rec.id); ok && o == rec.object {
		return strings.Clone(rec.id)
	}
	return ""
}

// rowError is a bad row: the check goes on to the next one.
type rowError struct{ msg string }

func (e *rowError) Error() string { return e.msg }

// recordReader reads a trace's rows in one format.
type recordReader interface {
	// read fills rec with the next row; io.EOF at the end, a *rowError for a bad row
	// (reading may go on), any other error when the file cannot be read further.
	read(rec *traceRecord) error
	// bad returns a *rowError at the row read last.
	bad(format string, args ...any) error
}

func newRecordReader(r io.Reader, name string, opt TraceOptions) (recordReader, error) {
	if rc, ok := r.(readCloser); ok {
		r = rc.Reader // already buffered: a second buffer would copy every byte twice
	}
	switch opt.Format {
	case scenarios.TraceOracleGeneral:
		return &oracleReader{r: r, name: name}, nil
	case scenarios.TraceCachebench, scenarios.TraceTwitter, scenarios.TraceCSV:
		br, ok := r.(*bufio.Reader)
		if !ok {
			br = bufio.NewReaderSize(r, 1<<16)
		}
		c := &csvReader{lr: lineReader{br: br}, name: name, format: opt.Format, cols: opt.Columns, first: true}
		if len(opt.Writes) > 0 {
			c.writes = map[string]bool{}
			for _, w := range opt.Writes {
				c.writes[strings.ToLower(strings.TrimSpace(w))] = true
			}
		}
		return c, nil
	}
	return nil, fmt.Errorf("%s: trace format %q is unknown: use cachebench, oracle-general, twitter or csv", name, opt.Format)
}

// oracleRecord is the size of one record of libCacheSim's oracleGeneral format.
const oracleRecord = 24

// oracleReader reads libCacheSim's oracleGeneral binary format: little-endian records of
// timestamp u32 (seconds), object ID u64, object size u32 and the next access's virtual
// time i64. Every record is a read.
type oracleReader struct {
	r    io.Reader
	name string
	n    int64
	buf  [oracleRecord]byte
}

func (o *oracleReader) read(rec *traceRecord) error {
	n, err := io.ReadFull(o.r, o.buf[:])
	if err == io.EOF {
		return io.EOF
	}
	o.n++
	if err != nil {
		return fmt.Errorf("%s: record %d is cut short (%d of %d bytes): the file is truncated or not in oracleGeneral format (set keys.trace_format)", o.name, o.n, n, oracleRecord)
	}
	*rec = traceRecord{
		at:      time.Duration(binary.LittleEndian.Uint32(o.buf[0:4])) * time.Second,
		num:     binary.LittleEndian.Uint64(o.buf[4:12]),
		size:    int64(binary.LittleEndian.Uint32(o.buf[12:16])),
		numeric: true,
		op:      OpGet,
	}
	return nil
}

func (o *oracleReader) bad(format string, args ...any) error {
	return &rowError{fmt.Sprintf("%s: record %d: %s", o.name, o.n, fmt.Sprintf(format, args...))}
}

// twitterWrites are the operations of Twitter's cache traces that change the value.
var twitterWrites = map[string]bool{
	"set": true, "add": true, "replace": true, "cas": true, "append": true,
	"prepend": true, "incr": true, "decr": true, "delete": true,
}

// csvReader reads the CSV formats: cachebench's, Twitter's and any CSV with a column map.
type csvReader struct {
	lr     lineReader
	name   string
	format string
	cols   scenarios.TraceColumns
	writes map[string]bool
	first  bool
	line   int
}

func (c *csvReader) bad(format string, args ...any) error {
	return &rowError{fmt.Sprintf("%s:%d: %s", c.name, c.line, fmt.Sprintf(format, args...))}
}

func (c *csvReader) read(rec *traceRecord) error {
	for {
		fields, err := c.lr.next()
		c.line = c.lr.line
		if err != nil {
			return c.lineError(err)
		}
		first := c.first
		c.first = false
		switch c.format {
		case scenarios.TraceCachebench:
			if first && strings.EqualFold(strings.TrimSpace(fields[0]), "time") {
				continue
			}
			return c.cachebench(fields, rec)
		case scenarios.TraceTwitter:
			if first && !isNumber(fields[0]) {
				continue // a header
			}
			return c.twitter(fields, rec)
		default:
			if first && c.cols.Time > 0 && c.cols.Time <= len(fields) && !isNumber(fields[c.cols.Time-1]) {
				continue // a header
			}
			return c.mapped(fields, rec)
		}
	}
}

// lineError turns an error of the line reader into the trace's.
func (c *csvReader) lineError(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	var re *rowError
	if errors.As(err, &re) {
		return c.bad("%s", re.msg)
	}
	return fmt.Errorf("%s:%d: %w", c.name, c.line, err)
}

// maxLine is the longest CSV line a trace may have.
const maxLine = 1 << 20

// lineReader splits CSV lines into fields without allocating: the fields point into the
// reader's buffer and are valid until the next call. Lines starting with # (after
// spaces) and blank lines are skipped; leading spaces of fields are dropped. A line with a
// double quote is parsed by encoding/csv (quoted fields, doubled quotes), which allocates;
// a quoted field cannot span lines.
type lineReader struct {
	br     *bufio.Reader
	buf    []byte
	fields []string
	line   int
}

func (l *lineReader) next() ([]string, error) {
	for {
		b, err := l.readLine()
		if err != nil {
			return nil, err
		}
		l.line++
		b = bytes.TrimRight(b, "\r")
		if t := bytes.TrimLeft(b, " \t"); len(t) == 0 || t[0] == '#' {
			continue
		}
		l.fields = l.fields[:0]
		if bytes.IndexByte(b, '"') >= 0 {
			cr := csv.NewReader(bytes.NewReader(b))
			cr.TrimLeadingSpace = true
			cr.FieldsPerRecord = -1
			rec, err := cr.Read()
			if err != nil {
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					err = pe.Err
				}
				return nil, &rowError{fmt.Sprintf("%v: write plain comma-separated fields (quote a field that has a comma, on one line)", err)}
			}
			l.fields = append(l.fields, rec...)
			return l.fields, nil
		}
		for {
			i := bytes.IndexByte(b, ',')
			f := b
			if i >= 0 {
				f = b[:i]
			}
			f = bytes.TrimLeft(f, " \t")
			l.fields = append(l.fields, unsafeString(f))
			if i < 0 {
				break
			}
			b = b[i+1:]
		}
		return l.fields, nil
	}
}

// unsafeString returns b as a string without copying; it must not outlive b's contents.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// readLine returns the next line without its newline; io.EOF after the last.
func (l *lineReader) readLine() ([]byte, error) {
	b, err := l.br.ReadSlice('\n')
	switch {
	case err == nil:
		return b[:len(b)-1], nil
	case err == io.EOF:
		if len(b) == 0 {
			return nil, io.EOF
		}
		return b, nil
	case err != bufio.ErrBufferFull:
		return nil, err
	}
	l.buf = append(l.buf[:0], b...)
	for {
		b, err = l.br.ReadSlice('\n')
		l.buf = append(l.buf, b...)
		if len(l.buf) > maxLine {
			return nil, fmt.Errorf("line %d is longer than %d bytes: is this a CSV file? (set keys.trace_format)", l.line+1, maxLine)
		}
		switch {
		case err == nil:
			return l.buf[:len(l.buf)-1], nil
		case err == io.EOF:
			return l.buf, nil
		case err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil
}

// parseTime reads a time in seconds.
func (c *csvReader) parseTime(s string, rec *traceRecord) error {
	ts := strings.TrimSpace(s)
	sec, err := strconv.ParseFloat(ts, 64)
	if err != nil || math.IsNaN(sec) || math.IsInf(sec, 0) {
		return c.bad("time %q is not a number: write seconds from the start, e.g. 1.25", ts)
	}
	if sec < 0 || sec*1e9 >= math.MaxInt64 {
		return c.bad("time %s is out of range: write seconds from the start, >= 0", ts)
	}
	rec.at = seconds(sec)
	return nil
}

func (c *csvReader) cachebench(f []string, rec *traceRecord) error {
	*rec = traceRecord{}
	if len(f) != 3 {
		return c.bad("%d fields, want 3: time,key,operation (e.g. 1.5,cus_123,get)", len(f))
	}
	if err := c.parseTime(f[0], rec); err != nil {
		return err
	}
	k := strings.TrimSpace(f[1])
	if obj, id, ok := strings.Cut(k, ":"); ok {
		if _, known := IDPrefix(obj); !known {
			return c.bad("key %q: unknown object type %q: use one of %s", k, obj, strings.Join(ObjectTypes(), ", "))
		}
		rec.object, rec.id = obj, id
	} else {
		obj, known := objectOfID(k)
		if !known {
			return c.bad("key %q has no known ID prefix: use cus_, sub_, price_, in_ or prod_, or write object:ID (e.g. customer:%s)", k, k)
		}
		rec.object, rec.id = obj, k
	}
	if !validID(rec.id) {
		return c.bad("key %q: the ID must be letters, digits, '_', '-' or '.'", k)
	}
	rec.key = k
	switch op := strings.TrimSpace(f[2]); {
	case strings.EqualFold(op, "get"):
		rec.op = OpGet
	case strings.EqualFold(op, "update"):
		rec.op = OpUpdate
	default:
		return c.bad("operation %q is unknown: use get or update", op)
	}
	return nil
}

func (c *csvReader) twitter(f []string, rec *traceRecord) error {
	*rec = traceRecord{}
	if len(f) != 7 {
		return c.bad("%d fields, want Twitter's 7: timestamp,key,key size,value size,client id,operation,TTL (or set keys.trace_format)", len(f))
	}
	if err := c.parseTime(f[0], rec); err != nil {
		return err
	}
	rec.key = strings.TrimSpace(f[1])
	if rec.key == "" {
		return c.bad("the key is empty")
	}
	size, err := c.parseSize(f[3], "value size")
	if err != nil {
		return err
	}
	rec.size = size
	op := strings.ToLower(strings.TrimSpace(f[5]))
	switch {
	case op == "get" || op == "gets":
		rec.op = OpGet
	case twitterWrites[op]:
		rec.op = OpUpdate
	default:
		return c.bad("operation %q is not one of Twitter's: get, gets, set, add, replace, cas, append, prepend, incr, decr, delete", op)
	}
	return nil
}

func (c *csvReader) mapped(f []string, rec *traceRecord) error {
	*rec = traceRecord{}
	col := func(n int, what string) (string, error) {
		if n > len(f) {
			return "", c.bad("%d fields, but trace_columns.%s is column %d", len(f), what, n)
		}
		return f[n-1], nil
	}
	if c.cols.Time > 0 {
		ts, err := col(c.cols.Time, "time")
		if err != nil {
			return err
		}
		if err := c.parseTime(ts, rec); err != nil {
			return err
		}
	}
	k, err := col(c.cols.Key, "key")
	if err != nil {
		return err
	}
	if rec.key = strings.TrimSpace(k); rec.key == "" {
		return c.bad("the key (column %d) is empty", c.cols.Key)
	}
	if c.cols.Size > 0 {
		v, err := col(c.cols.Size, "size")
		if err != nil {
			return err
		}
		if rec.size, err = c.parseSize(v, "size (column "+strconv.Itoa(c.cols.Size)+")"); err != nil {
			return err
		}
	}
	rec.op = OpGet
	if c.cols.Op > 0 {
		op, err := col(c.cols.Op, "op")
		if err != nil {
			return err
		}
		if c.writes[strings.ToLower(strings.TrimSpace(op))] {
			rec.op = OpUpdate
		}
	}
	return nil
}

// parseSize reads a value size: a whole number of bytes, 0 or more.
func (c *csvReader) parseSize(v, what string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, c.bad("%s %q is not a whole number of bytes", what, v)
	}
	return n, nil
}

// fmtSeconds writes d in seconds, as in a trace.
func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// Len returns the number of requests in t.
func (t *Trace) Len() int { return t.rows }

// Count returns the number of distinct keys in t; key indices are in [0, Count()), in order
// of first appearance.
func (t *Trace) Count() int { return len(t.ids) }

// Key returns the object type and ID of key index i.
func (t *Trace) Key(i int) (object, id string) { return t.objects[i], t.ids[i] }

// Format returns the trace's format.
func (t *Trace) Format() string { return t.opt.Format }

// Updates returns the number of t's rows that are updates.
func (t *Trace) Updates() int { return t.updates }

// Span returns the replay time of t's end (see TraceOptions.Speed and Rate): its last
// request's, or, for a trace of whole seconds whose replay spreads each second's rows
// across it (see traceStream), the end of its last second.
func (t *Trace) Span() time.Duration {
	if t.spread() {
		return t.replayAt(t.rows-1, t.last+time.Second)
	}
	return t.replayAt(t.rows-1, t.last)
}

// spread says whether a replay of t spreads each recorded second's rows evenly across it.
func (t *Trace) spread() bool {
	return t.opt.Rate == 0 && (t.opt.Format == scenarios.TraceTwitter || t.opt.Format == scenarios.TraceOracleGeneral)
}

// replayAt returns when row i, recorded at at, is due in the replay. Times in
// cachebench's format count from the start of the run; the other formats' count from
// their first row (real traces start at a Unix time).
func (t *Trace) replayAt(i int, at time.Duration) time.Duration {
	if t.opt.Rate > 0 {
		return seconds(float64(i) / t.opt.Rate)
	}
	if t.opt.Format != scenarios.TraceCachebench {
		at -= t.first
	}
	if t.opt.Speed > 0 && t.opt.Speed != 1 {
		at = time.Duration(float64(at) / t.opt.Speed)
	}
	return at
}

// traceRow is one request of a replay.
type traceRow struct {
	at  time.Duration
	key int32
	op  Op
}

// traceStream reads t's rows again, in order, for a replay.
//
// Twitter's and libCacheSim's traces record whole seconds, so a second's rows share one
// time; sent at once they would arrive as a burst at each second's start, which the
// trace does not say happened. The stream spreads the rows of one recorded second evenly
// across it instead (reading that second's rows ahead: memory for one second of rows).
type traceStream struct {
	t   *Trace
	rc  io.ReadCloser
	rr  recordReader
	rec traceRecord
	i   int
	err error

	spread  bool
	pending []traceRow // the current second's rows, times as recorded
	next0   int        // the next of pending to give
	carry   traceRow   // the first row of the next second, read ahead
	carried bool
}

func (t *Trace) stream() *traceStream {
	s := &traceStream{t: t, spread: t.spread()}
	rc, err := t.open()
	if err != nil {
		s.err = err
		return s
	}
	s.rc = rc
	s.rr, s.err = newRecordReader(rc, t.name, t.opt)
	return s
}

// read reads the next row with its recorded time.
func (s *traceStream) read(row *traceRow) bool {
	if s.err != nil || s.rr == nil || s.i >= s.t.rows {
		return false
	}
	if err := s.rr.read(&s.rec); err != nil {
		if err == io.EOF {
			err = fmt.Errorf("%s: ended after %d of the %d rows it had when checked: was it changed during the run?", s.t.name, s.i, s.t.rows)
		}
		s.err = err
		return false
	}
	k, ok := s.t.lookup(&s.rec)
	if !ok {
		s.err = fmt.Errorf("%s: row %d has a key the check did not see: was the file changed during the run?", s.t.name, s.i+1)
		return false
	}
	row.at, row.key, row.op = s.rec.at, k, s.rec.op
	s.i++
	return true
}

// next fills row with the next request, due at its replay time; false at the end or on
// an error (see Err).
func (s *traceStream) next(row *traceRow) bool {
	if !s.spread {
		if !s.read(row) {
			s.close()
			return false
		}
		row.at = s.t.replayAt(s.i-1, row.at)
		return true
	}
	if s.next0 == len(s.pending) {
		s.pending, s.next0 = s.pending[:0], 0
		var r traceRow
		if s.carried {
			r, s.carried = s.carry, false
		} else if !s.read(&r) {
			s.close()
			return false
		}
		s.pending = append(s.pending, r)
		for s.read(&r) {
			if r.at != s.pending[0].at {
				s.carry, s.carried = r, true
				break
			}
			s.pending = append(s.pending, r)
		}
	}
	n := len(s.pending)
	*row = s.pending[s.next0]
	row.at += time.Duration(int64(time.Second) * int64(s.next0) / int64(n))
	s.next0++
	row.at = s.t.replayAt(0, row.at)
	return true
}

func (s *traceStream) close() {
	if s.rc != nil {
		s.rc.Close()
		s.rc = nil
	}
}

// Err returns what ended the stream early, if anything.
func (s *traceStream) Err() error { return s.err }

// requestsBefore estimates how many of t's requests are before horizon (<= 0: all),
// assuming an even spread over the trace's span.
func (t *Trace) requestsBefore(horizon time.Duration) float64 {
	span := t.Span()
	if horizon <= 0 || span < horizon {
		return float64(t.rows)
	}
	return float64(t.rows) * float64(horizon) / float64(span)
}

// Schedule returns the times of t's requests before horizon (<= 0: all) as a Schedule,
// streamed from the file.
func (t *Trace) Schedule(horizon time.Duration) Schedule {
	return &traceSchedule{s: t.stream(), horizon: horizon}
}

type traceSchedule struct {
	s       *traceStream
	horizon time.Duration
	row     traceRow
	done    bool
}

func (s *traceSchedule) Next() (time.Duration, bool) {
	if s.done || !s.s.next(&s.row) || (s.horizon > 0 && s.row.at >= s.horizon) {
		s.done = true
		s.s.close()
		return 0, false
	}
	return s.row.at, true
}

// Keys returns a chooser of t's keys in t's order, from the start again after the last
// row. It ignores the time it is given. Should the file become unreadable, it repeats the
// last key.
func (t *Trace) Keys() KeyChooser { return &traceKeys{t: t} }

type traceKeys struct {
	t    *Trace
	s    *traceStream
	last int
}

func (k *traceKeys) Next(time.Duration) int {
	var row traceRow
	for range 2 {
		if k.s == nil {
			k.s = k.t.stream()
		}
		if k.s.next(&row) {
			k.last = int(row.key)
			return k.last
		}
		k.s = nil // the end: from the start again
	}
	return k.last
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
