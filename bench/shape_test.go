package bench_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cachebench/cachebench/bench"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// TestPayloadShapeBytesPerEntry runs both points of a shape sweep briefly (counted
// requests, so nothing depends on timing) and checks that the projection is smaller in
// every tier, by the figures of the runs themselves, and that each figure follows from
// the counters beside it.
func TestPayloadShapeBytesPerEntry(t *testing.T) {
	s := parse(t, `
name: shape
requests: 600
arrival: {model: constant, rate: 400}
keys: {object: customer, count: 100, distribution: uniform}
cache:
  l1: {enabled: true, max_entries: 1000, ttl: 0}
  l2: {enabled: true, ttl: 5m}
  l3: {enabled: true, ttl: 24h}
  fields: [id, email, metadata]
lambda: {enabled: false}
stripe: {mode: none}
sweep: {cache.shape: [full, fields]}
`)
	points, err := scenarios.Expand(s)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]reports.Tiers{}
	for _, p := range points {
		res := run(t, p, bench.Options{})
		// What cachebench report reads back: Read checks each bytes_per_entry against
		// the counters its bytes_measure names.
		path := filepath.Join(t.TempDir(), "result.json")
		if data, err := json.Marshal(res); err != nil {
			t.Fatal(err)
		} else if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := reports.Read(path); err != nil {
			t.Errorf("%s: result does not read back: %v", p.Point, err)
		}
		got[p.Cache.Shape] = res.Tiers
		l1, l2, l3 := res.Tiers.L1, res.Tiers.L2, res.Tiers.L3
		t.Logf("%s: bytes per entry L1 %.0f (%s), L2 %.0f (%s, %d sampled), L3 %.0f (%s, %d written)", p.Point,
			l1.BytesPerEntry, l1.BytesMeasure, l2.BytesPerEntry, l2.BytesMeasure, l2.SampledEntries,
			l3.BytesPerEntry, l3.BytesMeasure, l3.EntriesWritten)
		if l1.EntriesHeld == 0 || l2.SampledEntries == 0 || l3.EntriesWritten == 0 {
			t.Fatalf("%s: a tier has no measured entries: %+v", p.Point, res.Tiers)
		}
	}
	full, fields := got[scenarios.ShapeFull], got[scenarios.ShapeFields]
	for _, c := range []struct {
		tier        string
		full, field float64
	}{
		{"l1", full.L1.BytesPerEntry, fields.L1.BytesPerEntry},
		{"l2", full.L2.BytesPerEntry, fields.L2.BytesPerEntry},
		{"l2 value", full.L2.ValueBytesPerEntry, fields.L2.ValueBytesPerEntry},
		{"l3", full.L3.BytesPerEntry, fields.L3.BytesPerEntry},
	} {
		if !(c.field > 0 && c.field < c.full) {
			t.Errorf("%s bytes per entry: fields %.0f, full %.0f; want fields smaller", c.tier, c.field, c.full)
		}
	}
}
