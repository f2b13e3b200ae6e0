// Package reports owns what a run leaves behind and what people read: the result.json
// contract (Result, schema cachebench/result/v1, written atomically by Result.Write and
// checked by Read), the summary printed after a run (WriteSummary), thresholds
// (ParseThresholds, Evaluate), and the reports made from results:
//
//   - one run: WriteMarkdown, WriteCSV (the per-second timeline) and WriteHTML, one
//     self-contained page whose charts are gonum/plot SVG inlined, and which loads nothing;
//   - runs side by side: Compare groups repeats of one configuration, CompareSides keeps
//     the sides the caller names; WriteCompare shows deltas, with confidence intervals
//     and a Welch t-test only when each side ran at least three times, and
//     WriteCompareHTML opens with which side is best on what, by how much and whether it
//     is real, then overlays the sides on shared charts;
//   - a sweep: Sweep averages each point's repeats (latency percentiles are pooled from
//     their merged HdrHistograms instead), marks the Pareto frontier over p99, stale ratio
//     and cost per million requests, and recommends the cheapest point whose thresholds
//     pass; WriteSweepMarkdown, WriteSweepHTML and WriteSweepCSV render it, the HTML with a
//     heatmap per figure when two keys were swept.
//
// Every HTML page gives values on demand. Hovering a point, bar or heatmap cell shows its
// exact value and configuration through an SVG <title> over the mark, which is the
// browser's own tooltip and needs no script. A checkbox under each chart with several
// series hides or shows one; that takes the only script on the page, six lines
// (toggleScript), allowed by its SHA-256 in the Content-Security-Policy, which still forbids
// any fetch and any other script. A charting library was the other choice. It would redraw
// every chart in the browser, add hundreds of kilobytes to each report, and make its
// upgrades part of the upkeep. This way the charts stay the gonum/plot SVG the tests read.
//
// The statistics (means, Student-t intervals, Welch's test) take the t distribution from
// gonum's stat/distuv. Prices and the cost model live in the pricing subpackage.
package reports
