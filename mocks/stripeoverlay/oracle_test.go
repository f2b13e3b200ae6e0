package stripeoverlay_test

import (
	"context"
	"testing"
	"time"

	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

// TestOracleScripted builds a known history on a settable clock — version 1 from t0,
// version 2 at t0+10s, 3 at t0+20s, deletion (4) at t0+30s — and checks the oracle
// before, at and after each change.
func TestOracleScripted(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	o := start(t, stripeoverlay.Config{Mode: "none", Now: clk.Now})
	ctx := context.Background()
	const id = "cus_oracle"
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	for i, step := range []struct {
		at  time.Duration
		del bool
	}{{10 * time.Second, false}, {20 * time.Second, false}, {30 * time.Second, true}} {
		clk.Set(at(step.at))
		var v int64
		var err error
		if step.del {
			v, err = o.Delete(ctx, "customer", id)
		} else {
			v, err = o.Update(ctx, "customer", id, map[string]string{"step": string(rune('a' + i))})
		}
		if err != nil || v != int64(i+2) {
			t.Fatalf("change %d: version %d, %v", i, v, err)
		}
	}
	s := time.Second
	tests := []struct {
		name    string
		typ, id string
		version int64
		at      time.Duration
		want    stripeoverlay.Verdict
	}{
		{"v1 before start", "customer", id, 1, -time.Hour, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 1}},
		{"v1 at start", "customer", id, 1, 0, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 1}},
		{"v1 just before v2", "customer", id, 1, 10*s - time.Nanosecond, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 1}},
		{"v1 at v2", "customer", id, 1, 10 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 2}},
		{"v1 5s after v2", "customer", id, 1, 15 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 2, StaleBy: 5 * s}},
		{"v2 5s after v2", "customer", id, 2, 15 * s, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 2}},
		{"v3 read before it was current", "customer", id, 3, 15 * s, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 2}},
		{"v1 after v3", "customer", id, 1, 25 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 3, StaleBy: 15 * s}},
		{"v2 after v3", "customer", id, 2, 25 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 3, StaleBy: 5 * s}},
		{"v3 at deletion", "customer", id, 3, 30 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 4, Deleted: true}},
		{"v3 after deletion", "customer", id, 3, 31 * s, stripeoverlay.Verdict{Known: true, CurrentVersion: 4, StaleBy: s, Deleted: true}},
		{"v4 after deletion", "customer", id, 4, time.Hour, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 4, Deleted: true}},
		{"v0", "customer", id, 0, 15 * s, stripeoverlay.Verdict{CurrentVersion: 2}},
		{"v5 never existed", "customer", id, 5, time.Hour, stripeoverlay.Verdict{CurrentVersion: 4, Deleted: true}},
		{"untouched object v1", "customer", "cus_other", 1, time.Hour, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 1}},
		{"untouched object v2", "customer", "cus_other", 2, time.Hour, stripeoverlay.Verdict{CurrentVersion: 1}},
		{"same id, other type", "product", id, 1, time.Hour, stripeoverlay.Verdict{Known: true, Current: true, CurrentVersion: 1}},
		{"unknown type", "widget", id, 1, time.Hour, stripeoverlay.Verdict{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := o.Check(tt.typ, tt.id, tt.version, at(tt.at)); got != tt.want {
				t.Errorf("Check(%s, %s, v%d, t0%+v) = %+v, want %+v", tt.typ, tt.id, tt.version, tt.at, got, tt.want)
			}
		})
	}

	if v := o.Version("customer", id); v != 4 {
		t.Errorf("Version = %d, want 4", v)
	}
	if v := o.Version("widget", id); v != 0 {
		t.Errorf("Version of an unknown type = %d, want 0", v)
	}
	hist := o.History("customer", id)
	wantHist := []stripeoverlay.Change{
		{Version: 1, At: t0}, {Version: 2, At: at(10 * s)}, {Version: 3, At: at(20 * s)}, {Version: 4, At: at(30 * s), Deleted: true},
	}
	if len(hist) != len(wantHist) {
		t.Fatalf("History = %+v, want %+v", hist, wantHist)
	}
	for i := range hist {
		if hist[i].Version != wantHist[i].Version || !hist[i].At.Equal(wantHist[i].At) || hist[i].Deleted != wantHist[i].Deleted {
			t.Errorf("History[%d] = %+v, want %+v", i, hist[i], wantHist[i])
		}
	}
	if h := o.History("customer", "cus_other"); len(h) != 1 || h[0].Version != 1 || !h[0].At.Equal(t0) {
		t.Errorf("History of an untouched object = %+v", h)
	}
}
