package cachecore_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/cachebench/cachebench/cachecore"
)

// cloudWatchUnits are the units CloudWatch accepts (MetricDatum.Unit).
var cloudWatchUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true, "Gigabytes/Second": true,
	"Terabytes/Second": true, "Bits/Second": true, "Kilobits/Second": true, "Megabits/Second": true,
	"Gigabits/Second": true, "Terabits/Second": true, "Count/Second": true, "None": true,
}

// checkEMF checks one document against the Embedded Metric Format specification: a root
// _aws with Timestamp (epoch milliseconds) and a CloudWatchMetrics array of directives,
// each with a Namespace, Dimensions (arrays of at most 30 keys, each a root string member)
// and at most 100 Metrics, each named by a root member holding a number.
func checkEMF(t *testing.T, line []byte, wantTS int64) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatalf("not JSON: %v: %s", err, line)
	}
	aws, ok := doc["_aws"].(map[string]any)
	if !ok {
		t.Fatalf("no _aws object: %s", line)
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || int64(ts) != wantTS {
		t.Errorf("_aws.Timestamp = %v, want %d (ms): %s", aws["Timestamp"], wantTS, line)
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		t.Fatalf("_aws.CloudWatchMetrics is not a non-empty array: %s", line)
	}
	for _, d := range dirs {
		dir, ok := d.(map[string]any)
		if !ok {
			t.Fatalf("directive %v is not an object", d)
		}
		if ns, ok := dir["Namespace"].(string); !ok || ns == "" || len(ns) > 255 {
			t.Errorf("Namespace %v", dir["Namespace"])
		}
		sets, ok := dir["Dimensions"].([]any)
		if !ok {
			t.Fatalf("Dimensions is not an array: %s", line)
		}
		for _, s := range sets {
			keys, ok := s.([]any)
			if !ok || len(keys) > 30 {
				t.Fatalf("dimension set %v is not an array of at most 30 keys", s)
			}
			for _, k := range keys {
				name, _ := k.(string)
				if _, ok := doc[name].(string); !ok {
					t.Errorf("dimension %v has no string member at the root: %s", k, line)
				}
			}
		}
		ms, ok := dir["Metrics"].([]any)
		if !ok || len(ms) == 0 || len(ms) > 100 {
			t.Fatalf("Metrics is not an array of 1 to 100: %s", line)
		}
		for _, m := range ms {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if name == "" || len(name) > 1024 {
				t.Errorf("metric name %v", def["Name"])
			}
			if _, ok := doc[name].(float64); !ok {
				t.Errorf("metric %s has no number at the root: %s", name, line)
			}
			if u, _ := def["Unit"].(string); !cloudWatchUnits[u] {
				t.Errorf("metric %s: unit %q is not a CloudWatch unit", name, u)
			}
		}
	}
	return doc
}

// TestEMFExporter exports every cachecore metric through the example's exporter, checks
// each document's shape, that the hits equal Stats, and that a second export carries only
// what happened since the first (deltas, as CloudWatch sums them).
func TestEMFExporter(t *testing.T) {
	var buf bytes.Buffer
	at := time.UnixMilli(1767225600123)
	exp := &emfExporter{w: &buf, namespace: "cachebench-test", now: func() time.Time { return at }}
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
