package emf_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/cachecore/emf"
)

// checkEMF checks one document with Validate and its timestamp against wantTS (unless
// negative).
func checkEMF(t *testing.T, line []byte, wantTS int64) map[string]any {
	t.Helper()
	doc, err := emf.Validate(line)
	if err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	if ts := doc["_aws"].(map[string]any)["Timestamp"]; wantTS >= 0 && ts != float64(wantTS) {
		t.Errorf("_aws.Timestamp = %v, want %d (ms): %s", ts, wantTS, line)
	}
	return doc
}

// TestEMFExporter exports every cachecore metric through the exporter, checks
// each document's shape, that the hits equal Stats, and that a second export carries only
// what happened since the first (deltas, as CloudWatch sums them).
func TestEMFExporter(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1767225600123)
	exp := &emf.Exporter{W: &buf, Namespace: "cachebench-test", Now: func() time.Time { return at }}
	reader := sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	l1, err := cachecore.NewL1(cachecore.L1Config{Policy: "lru", MaxEntries: 100})
	if err != nil {
		t.Fatal(err)
	}
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		if ref.ID == "cus_gone" {
			return nil, 0, false, cachecore.ErrNotFound
		}
		return []byte(`{}`), 1, true, nil
	})
	c, err := cachecore.New(cachecore.Config{L1: l1, Origin: origin, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	read := func(n int) {
		for i := range n {
			_, _ = c.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: fmt.Sprintf("cus_%d", i%10)})
		}
		_, _ = c.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: "cus_gone"})
	}
	export := func() map[string]map[string]any {
		t.Helper()
		buf.Reset()
		if err := mp.ForceFlush(ctx); err != nil {
			t.Fatal(err)
		}
		byDims := map[string]map[string]any{}
		sc := bufio.NewScanner(&buf)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			doc := checkEMF(t, sc.Bytes(), at.UnixMilli())
			key := ""
			for _, k := range []string{"tier", "error.type", "reason"} {
				if v, ok := doc[k].(string); ok {
					key += k + "=" + v + ","
				}
			}
			if _, dup := byDims[key]; dup {
				t.Errorf("two documents for %q", key)
			}
			byDims[key] = doc
		}
		return byDims
	}

	read(100)
	first := export()
	s := c.Stats()
	l1doc := first["tier=l1,"]
	if l1doc == nil {
		t.Fatalf("no document for tier=l1; got %v", first)
	}
	if got := l1doc["cachecore.hits"]; got != float64(s.L1.Hits) {
		t.Errorf("tier=l1 cachecore.hits = %v, Stats %d", got, s.L1.Hits)
	}
	if got := first[""]["cachecore.origin.not_found"]; got != float64(s.OriginNotFound) {
		t.Errorf("cachecore.origin.not_found = %v, Stats %d", got, s.OriginNotFound)
	}
	if _, ok := first["tier=origin,"]["cachecore.get.duration"].(float64); !ok {
		t.Errorf("no mean read time for tier=origin: %v", first["tier=origin,"])
	}

	read(50)
	second := export()
	if got, want := second["tier=l1,"]["cachecore.hits"], float64(c.Stats().L1.Hits-s.L1.Hits); got != want {
		t.Errorf("second export: tier=l1 cachecore.hits = %v, want the %v since the first", got, want)
	}
}

// TestValidateRejects checks that Validate names what is wrong with a document CloudWatch
// would not take.
func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"not json", `{`, "not a JSON object"},
		{"no _aws", `{"a":1}`, "no _aws"},
		{"no directives", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`, "non-empty array"},
		{"bad timestamp", `{"_aws":{"Timestamp":"now","CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":1}`, "Timestamp"},
		{"no namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"m"}]}]},"m":1}`, "Namespace"},
		{"missing value", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m"}]}]}}`, "no number"},
		{"missing dimension", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["tier"]],"Metrics":[{"Name":"m"}]}]},"m":1}`, "dimension tier"},
		{"bad unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"m","Unit":"hits"}]}]},"m":1}`, "not a CloudWatch unit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := emf.Validate([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate(%s) = %v, want an error mentioning %q", tc.doc, err, tc.want)
			}
		})
	}
	good := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["tier"]],"Metrics":[{"Name":"m","Unit":"Count"}]}]},"m":1,"tier":"l1"}`
	if _, err := emf.Validate([]byte(good)); err != nil {
		t.Errorf("Validate(%s) = %v, want nil", good, err)
	}
}

// FuzzValidate checks that Validate never panics, and that a document it accepts has a
// Timestamp and at least one metric.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["tier"]],"Metrics":[{"Name":"m","Unit":"Count"}]}]},"m":1,"tier":"l1"}`))
	f.Add([]byte(`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[1]],"Metrics":[{"Name":2}]}]}}`))
	f.Add([]byte(`{"_aws":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		doc, err := emf.Validate(line)
		if err != nil {
			return
		}
		aws := doc["_aws"].(map[string]any)
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Fatalf("accepted a document without a numeric Timestamp: %s", line)
		}
		if len(aws["CloudWatchMetrics"].([]any)) == 0 {
			t.Fatalf("accepted a document without directives: %s", line)
		}
	})
}

// TestSkipZero checks that with SkipZero an export leaves out the zero deltas, and that
// an export with nothing new writes nothing.
func TestSkipZero(t *testing.T) {
	var buf bytes.Buffer
	exp := &emf.Exporter{W: &buf, Namespace: "cachebench-test", SkipZero: true}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(time.Hour))))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		return []byte(`{}`), 1, true, nil
	})
	c, err := cachecore.New(cachecore.Config{Origin: origin, MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	_, _ = c.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: "cus_1"})
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	docs := 0
	for sc.Scan() {
		doc := checkEMF(t, sc.Bytes(), -1)
		docs++
		for k, v := range doc {
			if f, ok := v.(float64); ok && f == 0 {
				t.Errorf("SkipZero exported %s = 0: %s", k, sc.Bytes())
			}
		}
	}
	if docs == 0 {
		t.Fatal("nothing exported after a read")
	}
	buf.Reset()
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Errorf("an export with nothing new wrote %s", buf.String())
	}
}
