package bench

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
)

// TestVerdictOrder: the rule's reasons, each alone and in the combinations where the
// order decides, on hand-made figures.
func TestVerdictOrder(t *testing.T) {
	healthy := reports.Generator{LateRatio: 0.001, LateOver1ms: 1000, CPUPercent: 30, MachineCPUPercent: 35, Cores: 2, PeakInFlight: 10, MaxInFlight: 10000, PeakOpenFiles: 100, OpenFilesLimit: 20000}
	cases := []struct {
		name   string
		change func(*reports.Generator)
		want   string
	}{
		{"healthy", func(*reports.Generator) {}, reports.BottleneckNone},
		{"emfile", func(g *reports.Generator) { g.OpenFilesErrors = 1 }, reports.BottleneckOpenFiles},
		{"fds near the limit", func(g *reports.Generator) { g.PeakOpenFiles = 18000 }, reports.BottleneckOpenFiles},
		{"late and CPU", func(g *reports.Generator) { g.LateRatio, g.CPUPercent = 0.2, 95 }, reports.BottleneckHarnessCPU},
		{"late and machine CPU", func(g *reports.Generator) { g.LateRatio, g.MachineCPUPercent = 0.2, 99 }, reports.BottleneckHarnessCPU},
		{"CPU without lateness", func(g *reports.Generator) { g.CPUPercent = 99 }, reports.BottleneckNone},
		{"a handful late", func(g *reports.Generator) { g.LateRatio, g.LateOver1ms, g.CPUPercent = 0.05, 5, 99 }, reports.BottleneckNone},
		{"mock", func(g *reports.Generator) {
			g.Mocks = []reports.MockLoad{{Service: "stripe", Requests: 500, Saturated: true}}
		}, reports.BottleneckMockSaturated},
		{"mock before slots", func(g *reports.Generator) {
			g.SlotWaits = 5
			g.Mocks = []reports.MockLoad{{Service: "stripe", Requests: 500, Saturated: true}}
		}, reports.BottleneckMockSaturated},
		{"CPU before mock", func(g *reports.Generator) {
			g.LateRatio, g.CPUPercent = 0.2, 95
			g.Mocks = []reports.MockLoad{{Service: "stripe", Requests: 500, Saturated: true}}
		}, reports.BottleneckHarnessCPU},
		{"slots", func(g *reports.Generator) { g.SlotWaits = 5 }, reports.BottleneckInFlight},
		{"pool", func(g *reports.Generator) { g.PoolWaits = map[string]int64{"stripe": 3} }, reports.BottleneckInFlight},
		{"slots before late without CPU", func(g *reports.Generator) { g.SlotWaits, g.LateRatio = 5, 0.5 }, reports.BottleneckInFlight},
		{"late without CPU", func(g *reports.Generator) { g.LateRatio = 0.5 }, reports.BottleneckHarnessCPU},
		{"files before everything", func(g *reports.Generator) {
			g.OpenFilesErrors, g.LateRatio, g.CPUPercent, g.SlotWaits = 3, 0.5, 99, 9
		}, reports.BottleneckOpenFiles},
	}
	p := &harnessProbe{r: &runner{world: &mocks.World{}}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := healthy
			c.change(&g)
			notes := p.verdict(&g)
			if g.BottleneckReason != c.want || g.Bottleneck != (c.want != reports.BottleneckNone) {
				t.Fatalf("reason %q (bottleneck %v): %s; want %q", g.BottleneckReason, g.Bottleneck, g.BottleneckDetail, c.want)
			}
			if (len(notes) > 0) != g.Bottleneck {
				t.Errorf("notes %q for bottleneck %v", notes, g.Bottleneck)
			}
			if c.want == reports.BottleneckMockSaturated && g.BottleneckService != "stripe" {
				t.Errorf("service %q, want stripe", g.BottleneckService)
			}
		})
	}
}

// TestRequestFailedCountsDescriptorErrors: EMFILE wrapped the way net/http wraps it, and
// a message that only says so (an overlay's 502 relaying its own dial error), count;
// other errors do not.
func TestRequestFailedCountsDescriptorErrors(t *testing.T) {
	p := &harnessProbe{}
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("socket", syscall.EMFILE)}
	p.requestFailed(fmt.Errorf("stripe origin: %w", dial))
	p.requestFailed(fmt.Errorf(`{"status":502,"message":"dial tcp: socket: too many open files"}`))
	p.requestFailed(fmt.Errorf("stripe origin: %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}))
	if got := p.fdErrs.Load(); got != 2 {
		t.Errorf("counted %d descriptor errors, want 2", got)
	}
}

func TestMaxConnsFor(t *testing.T) {
	for _, c := range []struct {
		nofile   uint64
		inFlight int
		want     int
	}{
		{20000, 10000, 1581},
		{1024, 10000, 32},
		{1 << 20, 10000, 8192},
		{1 << 20, 100, 100},
		{0, 10000, mocks.DefaultMaxConns},
	} {
		if got := maxConnsFor(c.nofile, c.inFlight); got != c.want {
			t.Errorf("maxConnsFor(%d, %d) = %d, want %d", c.nofile, c.inFlight, got, c.want)
		}
	}
}
