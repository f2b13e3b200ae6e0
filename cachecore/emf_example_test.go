package cachecore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/cachebench/cachebench/cachecore"
)

// A Lambda function exports the cache's metrics to CloudWatch by printing them in the
// Embedded Metric Format on stdout, where CloudWatch Logs picks them up: no agent, no
// API call. cachecore only speaks the OpenTelemetry API; the function brings the SDK and
// an exporter, here emfExporter below (OpenTelemetry Go has no EMF exporter of its own;
// the Collector's awsemfexporter is a Collector component). In a function, flush at the
// end of each invocation (mp.ForceFlush), since the environment may be frozen after it.
func ExampleConfig_meterProvider() {
	exporter := &emfExporter{
		w:         os.Stdout,
		namespace: "cachebench",
		// Each metric is a CloudWatch custom metric, billed: export the ones you watch.
		only: []string{"cachecore.hits", "cachecore.misses", "cachecore.origin.fetches", "cachecore.origin.calls"},
		now:  func() time.Time { return time.UnixMilli(1767225600000) }, // fixed for the example's output
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exporter, sdkmetric.WithInterval(time.Minute))))

	l1, _ := cachecore.NewL1(cachecore.L1Config{Policy: "lru", MaxEntries: 10000, TTL: 30 * time.Second})
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		return []byte(`{"id":"` + ref.ID + `","object":"customer"}`), 1, true, nil
	})
	cache, err := cachecore.New(cachecore.Config{L1: l1, Origin: origin, MeterProvider: mp})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for _, id := range []string{"cus_1", "cus_1", "cus_2", "cus_1"} {
		_, _ = cache.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: id})
	}
	_ = mp.Shutdown(ctx) // exports what is left; a long-lived process keeps the provider
	_ = cache.Close()
	// Output:
	// {"_aws":{"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"cachecore.origin.calls","Unit":"Count"},{"Name":"cachecore.origin.fetches","Unit":"Count"}],"Namespace":"cachebench"}],"Timestamp":1767225600000},"cachecore.origin.calls":2,"cachecore.origin.fetches":2}
	// {"_aws":{"CloudWatchMetrics":[{"Dimensions":[["tier"]],"Metrics":[{"Name":"cachecore.hits","Unit":"Count"},{"Name":"cachecore.misses","Unit":"Count"}],"Namespace":"cachebench"}],"Timestamp":1767225600000},"cachecore.hits":2,"cachecore.misses":2,"tier":"l1"}
}

// emfExporter is an OpenTelemetry SDK metric exporter that writes each collection to w in
// CloudWatch's Embedded Metric Format: one JSON document a line for each set of attribute
// values, whose attributes are the document's dimensions (one dimension set), with
// _aws.Timestamp in milliseconds. Counters and histograms are exported as deltas, what
// CloudWatch sums over a period; up-down counters and gauges as their value; a histogram as
// the mean of its values in the period (EMF's plain numbers carry no distribution).
type emfExporter struct {
	w         io.Writer
	namespace string
	// only names the metrics to export; nil exports all.
	only []string
	// now is the documents' timestamp; nil means time.Now.
	now func() time.Time

	mu sync.Mutex
}

var _ sdkmetric.Exporter = (*emfExporter)(nil)

func (e *emfExporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DeltaTemporalitySelector(k)
}

func (e *emfExporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

func (e *emfExporter) ForceFlush(context.Context) error { return nil }
func (e *emfExporter) Shutdown(context.Context) error   { return nil }

// emfDoc is one document's dimensions and metric values.
type emfDoc struct {
	attrs  attribute.Set
	values map[string]float64
	units  map[string]string
}

func (e *emfExporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	docs := map[attribute.Distinct]*emfDoc{}
	put := func(attrs attribute.Set, name, unit string, v float64) {
		d, ok := docs[attrs.Equivalent()]
		if !ok {
			d = &emfDoc{attrs: attrs, values: map[string]float64{}, units: map[string]string{}}
			docs[attrs.Equivalent()] = d
		}
		d.values[name] = v
		d.units[name] = emfUnit(unit)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if e.only != nil && !slices.Contains(e.only, m.Name) {
				continue
			}
			switch data := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, dp := range data.DataPoints {
					put(dp.Attributes, m.Name, m.Unit, float64(dp.Value))
				}
			case metricdata.Sum[float64]:
				for _, dp := range data.DataPoints {
					put(dp.Attributes, m.Name, m.Unit, dp.Value)
				}
			case metricdata.Gauge[int64]:
				for _, dp := range data.DataPoints {
					put(dp.Attributes, m.Name, m.Unit, float64(dp.Value))
				}
			case metricdata.Gauge[float64]:
				for _, dp := range data.DataPoints {
					put(dp.Attributes, m.Name, m.Unit, dp.Value)
				}
			case metricdata.Histogram[float64]:
				for _, dp := range data.DataPoints {
					if dp.Count > 0 {
						put(dp.Attributes, m.Name, m.Unit, dp.Sum/float64(dp.Count))
					}
				}
			case metricdata.Histogram[int64]:
				for _, dp := range data.DataPoints {
					if dp.Count > 0 {
						put(dp.Attributes, m.Name, m.Unit, float64(dp.Sum)/float64(dp.Count))
					}
				}
			}
		}
	}
	ordered := make([]*emfDoc, 0, len(docs))
	for _, d := range docs {
		ordered = append(ordered, d)
	}
	enc := attribute.DefaultEncoder()
	slices.SortFunc(ordered, func(a, b *emfDoc) int { return strings.Compare(a.attrs.Encoded(enc), b.attrs.Encoded(enc)) })

	now := time.Now
	if e.now != nil {
		now = e.now
	}
	ts := now().UnixMilli()
	var out []byte
	for _, d := range ordered {
		root := map[string]any{}
		dims := []string{}
		for _, kv := range d.attrs.ToSlice() {
			dims = append(dims, string(kv.Key))
			root[string(kv.Key)] = kv.Value.Emit()
		}
		names := make([]string, 0, len(d.values))
		for name := range d.values {
			names = append(names, name)
		}
		slices.Sort(names)
		// One directive holds at most 100 metrics.
		var directives []map[string]any
		for chunk := range slices.Chunk(names, 100) {
			var defs []map[string]string
			for _, name := range chunk {
				defs = append(defs, map[string]string{"Name": name, "Unit": d.units[name]})
				root[name] = d.values[name]
			}
			directives = append(directives, map[string]any{
				"Namespace": e.namespace, "Dimensions": [][]string{dims}, "Metrics": defs,
			})
		}
		root["_aws"] = map[string]any{"Timestamp": ts, "CloudWatchMetrics": directives}
		line, err := json.Marshal(root)
		if err != nil {
			return fmt.Errorf("emf: %w", err)
		}
		out = append(append(out, line...), '\n')
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := e.w.Write(out)
	return err
}

// emfUnit maps an OpenTelemetry (UCUM) unit to a CloudWatch one.
func emfUnit(unit string) string {
	switch {
	case unit == "s":
		return "Seconds"
	case unit == "ms":
		return "Milliseconds"
	case unit == "us":
		return "Microseconds"
	case unit == "By":
		return "Bytes"
	case strings.HasPrefix(unit, "{"): // a count of something: {hit}, {request}
		return "Count"
	}
	return "None"
}
