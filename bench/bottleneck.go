package bench

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
)

// The rule that says what limited a run (generator.bottleneck_reason). The harness, or a
// stand-in service, is the limit when one of these holds over the measured window,
// checked in this order; the first that holds is the reason, and the detail names every
// one that held:
//
//  1. open_files: a request failed for want of a file descriptor (EMFILE, ENFILE), or
//     the process held at least fdNearLimit of its soft RLIMIT_NOFILE at a sample.
//  2. harness_cpu: more than lateLimit of the requests, and at least lateMinCount of
//     them, started over 1 ms after their intended time AND the CPU was saturated: the process used at least
//     cpuProcessSaturated of all cores, or the machine (every process) at least
//     cpuMachineSaturated. A dispatcher short of CPU starts requests late, and so does
//     everything else in the process, the embedded services included. The bounds sit
//     below 100% because on a few cores Go's scheduler already delays runnable
//     goroutines (the dispatcher among them) for milliseconds at about 70% busy: an
//     all-miss run on 2 cores fell behind its schedule at 74%.
//  3. mock_saturated: an in-process stand-in service queued: among its requests in the
//     window (at least mockMinRequests), the 95th percentile of the wait for one of its
//     workers exceeded mockQueueP95. A server that keeps up hands almost every request
//     to a worker at once; a p95 wait means it was busy nearly all the time, and the
//     latencies then measure the stand-in. The embedded stripe-mock measures its own
//     wait and handler time (mocks.StandIn); miniredis and the in-memory L3 are not
//     measured.
//  4. in_flight: the dispatcher waited for one of the MaxInFlight slots, or a request
//     found every connection of a bounded pool toward a service busy (mocks
//     WorldConfig.MaxConns).
//  5. harness_cpu: requests started late (rule 2's ratio) without saturated CPU: the
//     dispatcher's thread was not scheduled in time.
//
// Otherwise the reason is none: the harness kept its schedule and the stand-ins did not
// queue, so the figures are the cache's and its services'.
const (
	lateLimit = 0.01
	// lateMinCount keeps a short, light run from being called limited by a handful of
	// late starts (2 of 100 requests is the operating system's scheduling, not a limit).
	lateMinCount        = 20
	cpuProcessSaturated = 70.0
	cpuMachineSaturated = 85.0
	fdNearLimit         = 0.9
	mockMinRequests     = 100
	mockQueueP95        = time.Millisecond
)

// harnessProbe watches the harness's own limits during a run: the process's open files
// (sampled each collector tick), its CPU and the machine's, the stand-ins' load, and the
// connection pools' waits.
type harnessProbe struct {
	r *runner

	peakFDs atomic.Int64
	fdErrs  atomic.Int64 // requests that failed with EMFILE or ENFILE

	at            time.Time
	cpu0          time.Duration
	busy0, total0 uint64
	machineOK     bool
	mock0         *mocks.StandInSnapshot
	pool0         map[string]int64
	baselined     bool
}

func newHarnessProbe(r *runner) *harnessProbe { return &harnessProbe{r: r} }

// baseline takes the figures at the start of the measured part.
func (p *harnessProbe) baseline() {
	p.at = time.Now()
	p.cpu0 = processCPU()
	p.busy0, p.total0, p.machineOK = machineCPU()
	if sm := p.r.world.Env.StripeMock; sm != nil {
		s := sm.Snapshot()
		p.mock0 = &s
	}
	p.pool0 = p.r.world.PoolWaits()
	p.baselined = true
	p.sample()
}

// sample counts the open files once.
func (p *harnessProbe) sample() {
	n := openFiles()
	if f := p.r.opt.Hooks.OpenFiles; f != nil {
		n = f()
	}
	for {
		old := p.peakFDs.Load()
		if n <= old || p.peakFDs.CompareAndSwap(old, n) {
			return
		}
	}
}

// requestFailed notes a failed request's error.
func (p *harnessProbe) requestFailed(err error) {
	if isFDExhaustion(err) || strings.Contains(err.Error(), "too many open files") {
		p.fdErrs.Add(1)
	}
}

// attribute fills the generator block's harness figures and the bottleneck verdict.
func (p *harnessProbe) attribute(g *reports.Generator, gl generatorLag, end time.Time) []string {
	r := p.r
	p.sample()
	g.PeakInFlight = r.peakInFlight.Load()
	g.MaxInFlight = int64(r.opt.MaxInFlight)
	g.SlotWaits = gl.saturated
	g.PeakOpenFiles = max(p.peakFDs.Load(), 0)
	g.OpenFilesLimit = openFileLimit()
	if f := r.opt.Hooks.OpenFilesLimit; f != nil {
		g.OpenFilesLimit = f()
	}
	g.OpenFilesErrors = p.fdErrs.Load()
	g.Cores = runtime.NumCPU()
	if p.baselined {
		if wall := end.Sub(p.at); wall > 0 {
			g.CPUPercent = 100 * float64(processCPU()-p.cpu0) / float64(wall) / float64(g.Cores)
		}
		if busy, total, ok := machineCPU(); ok && p.machineOK && total > p.total0 {
			g.MachineCPUPercent = 100 * float64(busy-p.busy0) / float64(total-p.total0)
		}
	}
	if f := r.opt.Hooks.CPUPercent; f != nil {
		g.CPUPercent, g.MachineCPUPercent = f()
	}
	g.CPUPercent = round1(g.CPUPercent)
	g.MachineCPUPercent = round1(g.MachineCPUPercent)
	if now := r.world.PoolWaits(); len(now) > 0 {
		for svc, n := range now {
			if d := n - p.pool0[svc]; d > 0 {
				if g.PoolWaits == nil {
					g.PoolWaits = map[string]int64{}
				}
				g.PoolWaits[svc] = d
			}
		}
	}
	if sm := r.world.Env.StripeMock; sm != nil && p.mock0 != nil {
		w := sm.Snapshot().Sub(*p.mock0)
		m := reports.MockLoad{Service: sm.Service, Backend: sm.Backend, Requests: w.Requests, Workers: sm.Workers}
		if w.Requests > 0 {
			m.HandlerP50US = float64(w.Handler.ValueAtQuantile(50))
			m.HandlerP99US = float64(w.Handler.ValueAtQuantile(99))
			m.QueueP50US = float64(w.Queue.ValueAtQuantile(50))
			m.QueueP95US = float64(w.Queue.ValueAtQuantile(95))
			m.QueueP99US = float64(w.Queue.ValueAtQuantile(99))
		}
		m.Saturated = m.Requests >= mockMinRequests && m.QueueP95US > float64(mockQueueP95.Microseconds())
		g.Mocks = append(g.Mocks, m)
	}
	return p.verdict(g)
}

// verdict applies the rule above to g's figures and returns the notes to add to the
// result (none when nothing but the cache limited the run).
func (p *harnessProbe) verdict(g *reports.Generator) []string {
	type finding struct{ reason, service, text string }
	var found []finding
	if g.OpenFilesErrors > 0 || (g.OpenFilesLimit > 0 && float64(g.PeakOpenFiles) >= fdNearLimit*float64(g.OpenFilesLimit)) {
		found = append(found, finding{reason: reports.BottleneckOpenFiles, text: fmt.Sprintf(
			"the process ran short of file descriptors: peak %d open of a limit of %d, and %d requests failed for want of one; raise `ulimit -n` (cachebench raises its soft limit to the hard limit) or lower the rate",
			g.PeakOpenFiles, g.OpenFilesLimit, g.OpenFilesErrors)})
	}
	late := g.LateRatio > lateLimit && g.LateOver1ms >= lateMinCount
	cpuSaturated := g.CPUPercent >= cpuProcessSaturated || g.MachineCPUPercent >= cpuMachineSaturated
	lateText := fmt.Sprintf("%.1f%% of requests started over 1 ms after their intended time (dispatch lag p99 %s)", 100*g.LateRatio, reports.FormatUS(g.LagP99US))
	cpuText := fmt.Sprintf("CPU: this process %.0f%%, the whole machine %.0f%% of %d cores", g.CPUPercent, g.MachineCPUPercent, g.Cores)
	if late && cpuSaturated {
		found = append(found, finding{reason: reports.BottleneckHarnessCPU, text: fmt.Sprintf(
			"the machine running cachebench was short of CPU and %s (%s): the latencies count from the intended times, so they include that lag; lower arrival.rate, or run on more cores",
			lateText, cpuText)})
	}
	for _, m := range g.Mocks {
		if m.Saturated {
			found = append(found, finding{reason: reports.BottleneckMockSaturated, service: m.Service, text: fmt.Sprintf(
				"the stand-in %s (%s) queued: 5%% of its %d requests waited over %s for one of its %d workers (wait p95 %s, p99 %s; its handler p50 %s, p99 %s), so the %s latencies measure the stand-in, not the service; run it outside this process (--env docker or local) or lower the rate",
				m.Service, m.Backend, m.Requests, reports.FormatUS(float64(mockQueueP95.Microseconds())), m.Workers,
				reports.FormatUS(m.QueueP95US), reports.FormatUS(m.QueueP99US), reports.FormatUS(m.HandlerP50US), reports.FormatUS(m.HandlerP99US), m.Service)})
		}
	}
	if g.SlotWaits > 0 {
		found = append(found, finding{reason: reports.BottleneckInFlight, text: fmt.Sprintf(
			"%d requests waited for one of the %d in-flight slots (peak %d in flight): the system could not keep up with the offered rate, and the wait counts in the latency",
			g.SlotWaits, g.MaxInFlight, g.PeakInFlight)})
	}
	for _, svc := range sortedServices(g.PoolWaits) {
		found = append(found, finding{reason: reports.BottleneckInFlight, text: fmt.Sprintf(
			"%d requests to %s found all %d connections of its pool busy and waited for one",
			g.PoolWaits[svc], svc, p.r.world.MaxConns())})
	}
	if late && !cpuSaturated {
		found = append(found, finding{reason: reports.BottleneckHarnessCPU, text: fmt.Sprintf(
			"%s although the CPU was not saturated (%s): the dispatcher's thread was not scheduled in time; the latencies include that lag",
			lateText, cpuText)})
	}
	if len(found) == 0 {
		g.Bottleneck = false
		g.BottleneckReason = reports.BottleneckNone
		mocks := ""
		for _, m := range g.Mocks {
			mocks += fmt.Sprintf(", and the stand-in %s did not queue (wait p95 %s)", m.Service, reports.FormatUS(m.QueueP95US))
		}
		g.BottleneckDetail = fmt.Sprintf(
			"the harness kept up (%.1f%% of requests started late; %s; peak %d of %d requests in flight; peak %d open files)%s: the figures are the cache's and its services'",
			100*g.LateRatio, cpuText, g.PeakInFlight, g.MaxInFlight, g.PeakOpenFiles, mocks)
		return nil
	}
	g.Bottleneck = true
	g.BottleneckReason = found[0].reason
	g.BottleneckService = found[0].service
	texts := make([]string, len(found))
	for i, f := range found {
		texts[i] = f.text
	}
	g.BottleneckDetail = strings.Join(texts, "; also, ")
	return []string{"cachebench itself (its harness or a stand-in service), not the cache under test, limited this run (" + g.BottleneckReason + "): " + g.BottleneckDetail}
}

func sortedServices(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }

// maxConnsFor sizes the connection pool toward each HTTP service from the soft open-file
// limit nofile: a connection to an in-process service costs the process two
// descriptors per hop (client and server ends), and a Stripe request crosses up to three
// (client → network proxy → overlay → stripe-mock), six descriptors in all, DynamoDB's
// two (four). A twelfth of what is left after 1024 for everything else covers both
// pools at their bound. The pool never needs more connections than requests in flight.
func maxConnsFor(nofile uint64, maxInFlight int) int {
	n := mocks.DefaultMaxConns
	if nofile > 0 {
		n = int((int64(nofile) - 1024) / 12)
	}
	n = min(max(n, 32), 8192)
	if maxInFlight > 0 {
		n = min(n, maxInFlight)
	}
	return n
}
