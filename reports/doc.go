// Package reports owns what a run leaves behind and what people read: the result.json
// contract (Result, schema cachebench/result/v1, written atomically by Result.Write and
// checked by Read), the summary printed after a run (WriteSummary), thresholds
// (ParseThresholds, Evaluate), and the reports made from results:
//
//   - one run: WriteMarkdown, WriteCSV (the per-second timeline) and WriteHTML, one
//     self-contained page whose charts are gonum/plot SVG inlined, and which loads nothing;
//   - runs side by side: Compare groups repeats of one configuration, CompareSides keeps
//     the sides the caller names, and WriteCompare shows deltas, with confidence intervals
//     and a Welch t-test only when each side ran at least three times;
//   - a sweep: Sweep averages each point's repeats, marks the Pareto frontier over p99,
//     stale ratio and cost per million requests, and recommends the cheapest point whose
//     thresholds pass; WriteSweepMarkdown, WriteSweepHTML and WriteSweepCSV render it.
//
// Prices and the cost model live in the pricing subpackage.
package reports
