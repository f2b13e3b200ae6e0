// Package emf is an OpenTelemetry SDK metric exporter that prints CloudWatch's Embedded
// Metric Format: JSON documents on a writer (a Lambda function's stdout), which CloudWatch
// Logs turns into metrics with no agent and no API call. OpenTelemetry Go has no EMF
// exporter of its own (the Collector's awsemfexporter is a Collector component).
//
// It imports only OpenTelemetry, so any program can use it for cachecore's metrics
// (cachecore.Config.MeterProvider) or its own:
//
//	exp := &emf.Exporter{W: os.Stdout, Namespace: "cachebench"}
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
//	// … at the end of each invocation, before the environment may be frozen:
//	_ = mp.ForceFlush(ctx)
package emf

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Exporter is an OpenTelemetry SDK metric exporter that writes each collection to W in
// CloudWatch's Embedded Metric Format: one JSON document a line for each set of attribute
// values, whose attributes are the document's dimensions (one dimension set), with
// _aws.Timestamp in milliseconds. Counters and histograms are exported as deltas, what
// CloudWatch sums over a period; up-down counters and gauges as their value; a histogram as
// the mean of its values in the period (EMF's plain numbers carry no distribution).
//
// Set the fields before the first export and leave them; Export may be called from any
// goroutine, and each collection is one Write.
type Exporter struct {
	// W receives the documents; required.
	W io.Writer
	// Namespace is the CloudWatch namespace of every metric, 1 to 255 characters.
	Namespace string
	// Only names the metrics to export; nil exports all. Each metric is a CloudWatch
	// custom metric, billed: export the ones you watch.
	Only []string
	// Now is the documents' timestamp; nil means time.Now.
	Now func() time.Time
	// SkipZero leaves out values of 0, and the documents left with none: the deltas of
	// counters that counted nothing, most of them in a function flushed at every
	// invocation. CloudWatch then has no data point where it would have had a 0, which
	// its sums do not miss (alarms on such a metric should treat missing data as good).
	SkipZero bool

	mu sync.Mutex
}

var _ sdkmetric.Exporter = (*Exporter)(nil)

// Temporality returns delta temporality for counters and histograms, cumulative for the
// rest (sdkmetric.DeltaTemporalitySelector).
func (e *Exporter) Temporality(k sdkmetric.InstrumentKind) metricdata.Temporality {
	return sdkmetric.DeltaTemporalitySelector(k)
}

// Aggregation returns the SDK's default aggregation for k.
func (e *Exporter) Aggregation(k sdkmetric.InstrumentKind) sdkmetric.Aggregation {
	return sdkmetric.DefaultAggregationSelector(k)
}

// ForceFlush does nothing: Export writes at once.
func (e *Exporter) ForceFlush(context.Context) error { return nil }

// Shutdown does nothing: the exporter holds nothing to release.
func (e *Exporter) Shutdown(context.Context) error { return nil }

// doc is one document's dimensions and metric values.
type doc struct {
	attrs  attribute.Set
	values map[string]float64
	units  map[string]string
}

// Export writes rm to W as EMF documents, sorted by their dimensions' values.
func (e *Exporter) Export(_ context.Context, rm *metricdata.ResourceMetrics) error {
	if e.W == nil {
		return fmt.Errorf("emf: Exporter.W is nil; set it to the writer the documents go to (os.Stdout in a Lambda function)")
	}
	docs := map[attribute.Distinct]*doc{}
	put := func(attrs attribute.Set, name, unit string, v float64) {
		if e.SkipZero && v == 0 {
			return
		}
		d, ok := docs[attrs.Equivalent()]
		if !ok {
			d = &doc{attrs: attrs, values: map[string]float64{}, units: map[string]string{}}
			docs[attrs.Equivalent()] = d
		}
		d.values[name] = v
		d.units[name] = Unit(unit)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if e.Only != nil && !slices.Contains(e.Only, m.Name) {
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
	if len(docs) == 0 {
		return nil
	}
	ordered := make([]*doc, 0, len(docs))
	for _, d := range docs {
		ordered = append(ordered, d)
	}
	enc := attribute.DefaultEncoder()
	slices.SortFunc(ordered, func(a, b *doc) int { return strings.Compare(a.attrs.Encoded(enc), b.attrs.Encoded(enc)) })

	now := time.Now
	if e.Now != nil {
		now = e.Now
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
				"Namespace": e.Namespace, "Dimensions": [][]string{dims}, "Metrics": defs,
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
	if _, err := e.W.Write(out); err != nil {
		return fmt.Errorf("emf: write: %w", err)
	}
	return nil
}

// Unit maps an OpenTelemetry (UCUM) unit to a CloudWatch one: s, ms, us and By to
// Seconds, Milliseconds, Microseconds and Bytes, an annotation such as {hit} to Count,
// anything else to None.
func Unit(unit string) string {
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
