package reports

import (
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// pooledHistogram merges the encoded histograms pick returns for each run into one, so
// that a percentile over repeats is the percentile of all their requests together (an
// average of the runs' p99s is not a p99 of anything). ok is false when a run has no
// histogram or one does not decode; the caller then falls back to the runs' own figures.
func pooledHistogram(runs []*Result, pick func(*Result) string) (h *hdrhistogram.Histogram, ok bool) {
	for _, r := range runs {
		enc := pick(r)
		if enc == "" {
			return nil, false
		}
		d, err := DecodeHistogram(enc)
		if err != nil {
			return nil, false
		}
		if h == nil {
			h = d
			continue
		}
		if dropped := h.Merge(d); dropped > 0 {
			return nil, false
		}
	}
	return h, h != nil && h.TotalCount() > 0
}

// latencyHist and serviceHist pick a run's read-latency and service-time histograms.
func latencyHist(r *Result) string { return r.Histograms.Latency }
func serviceHist(r *Result) string { return r.Histograms.Service }

// quantileOf returns a function reading percentile q (0..100) of a histogram, as the
// runner computes a run's own percentiles.
func quantileOf(q float64) func(*hdrhistogram.Histogram) float64 {
	return func(h *hdrhistogram.Histogram) float64 { return float64(h.ValueAtQuantile(q)) }
}

// histMax is a histogram's largest value.
func histMax(h *hdrhistogram.Histogram) float64 { return float64(h.Max()) }
