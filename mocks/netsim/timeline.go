package netsim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// kinds returns every fault kind, network kinds first.
func kinds() []string {
	return []string{KindDown, KindPause, KindLatency, KindReset, KindBandwidth, KindRateLimit, KindErrors, KindFailover}
}

// ValidateFault checks a fault's kind and the fields its kind needs, and reports every
// problem at once. It does not know the target; RunTimeline also checks that.
func ValidateFault(f Fault) error {
	var errs []error
	switch f.Kind {
	case "":
		errs = append(errs, fmt.Errorf("fault kind is empty; use one of %s", strings.Join(kinds(), ", ")))
	case KindDown, KindPause, KindReset, KindRateLimit, KindFailover:
	case KindLatency:
		if f.Latency <= 0 {
			errs = append(errs, fmt.Errorf("latency fault needs a latency above 0, got %v", f.Latency))
		}
		if f.Jitter < 0 {
			errs = append(errs, fmt.Errorf("latency fault has negative jitter %v; use 0 for none", f.Jitter))
		}
	case KindBandwidth:
		if f.Bandwidth < MinBandwidth {
			errs = append(errs, fmt.Errorf("bandwidth fault needs a bandwidth of at least %d bytes/s, got %d", MinBandwidth, f.Bandwidth))
		}
	case KindErrors:
		if !(f.Rate > 0 && f.Rate <= 1) {
			errs = append(errs, fmt.Errorf("errors fault needs a rate in (0, 1], got %v", f.Rate))
		}
	default:
		errs = append(errs, fmt.Errorf("unknown fault kind %q; use one of %s", f.Kind, strings.Join(kinds(), ", ")))
	}
	return errors.Join(errs...)
}

// KindSupporter is implemented by injectors that take only some fault kinds (Proxy takes
// the network kinds). RunTimeline uses it to reject a fault before anything runs.
type KindSupporter interface {
	SupportsKind(kind string) bool
}

// Scheduled is a fault with its timing: it starts At after the timeline's start and
// lasts For, on the injector named Target.
type Scheduled struct {
	At, For time.Duration
	Target  string
	Fault   Fault
}

// Window is what happened to one scheduled fault, for reports to shade. Start and End
// are when the fault was in force: Start when Inject returned, End when its clear
// function returned. A fault not yet started has zero Start; one still in force has
// zero End. Err says why a fault did not run or did not end cleanly.
type Window struct {
	Target, Kind string
	// PlannedAt and PlannedFor are the schedule's figures, relative to the start.
	PlannedAt, PlannedFor time.Duration
	Start, End            time.Time
	Err                   string
}

// Timeline runs a fault schedule in the background; see RunTimeline. Its methods are
// safe for concurrent use.
type Timeline struct {
	mu      sync.Mutex
	windows []Window

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// RunTimeline checks the schedule, then runs it in the background relative to start:
// fault i is injected into targets[faults[i].Target] at start+At and cleared at
// start+At+For (planned times; a late injection does not move the end). A fault whose
// start has passed is injected at once; one whose end has passed is skipped. Faults
// may overlap.
//
// The schedule is checked first and every problem is reported at once, each naming the
// fault's index: an unknown target, At below 0, For not above 0, an unknown kind or
// missing figures (ValidateFault), a kind the target does not support (KindSupporter).
//
// When ctx is cancelled, every fault in force is cleared at once and faults not yet
// started never start; so does Stop. Wait waits for the end.
func RunTimeline(ctx context.Context, start time.Time, faults []Scheduled, targets map[string]Injector) (*Timeline, error) {
	if err := checkSchedule(faults, targets); err != nil {
		return nil, err
	}
	tl := &Timeline{
		windows: make([]Window, len(faults)),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	var wg sync.WaitGroup
	for i, s := range faults {
		tl.windows[i] = Window{Target: s.Target, Kind: s.Fault.Kind, PlannedAt: s.At, PlannedFor: s.For}
		wg.Go(func() { tl.run(ctx, i, start, s, targets[s.Target]) })
	}
	go func() {
		wg.Wait()
		close(tl.done)
	}()
	return tl, nil
}

func checkSchedule(faults []Scheduled, targets map[string]Injector) error {
	names := make([]string, 0, len(targets))
	for name := range targets {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for i, s := range faults {
		var problems []error
		inj, ok := targets[s.Target]
		if !ok || inj == nil {
			problems = append(problems, fmt.Errorf("unknown target %q; use one of %s", s.Target, strings.Join(names, ", ")))
		}
		if s.At < 0 {
			problems = append(problems, fmt.Errorf("at %v is negative; faults start at 0 or later", s.At))
		}
		if s.For <= 0 {
			problems = append(problems, fmt.Errorf("for %v is not a duration above 0; give the fault how long it lasts", s.For))
		}
		if err := ValidateFault(s.Fault); err != nil {
			problems = append(problems, err)
		} else if ks, ok := inj.(KindSupporter); ok && !ks.SupportsKind(s.Fault.Kind) {
			problems = append(problems, fmt.Errorf("target %q cannot inject kind %q; network targets take %s, %s, %s, %s, %s and the Stripe target also takes %s, %s",
				s.Target, s.Fault.Kind, KindDown, KindPause, KindLatency, KindReset, KindBandwidth, KindRateLimit, KindErrors))
		}
		if len(problems) > 0 {
			errs = append(errs, fmt.Errorf("fault %d (target %q, kind %q): %w", i, s.Target, s.Fault.Kind, errors.Join(problems...)))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("netsim: fault timeline: %w", errors.Join(errs...))
	}
	return nil
}

// run drives fault i from its start to its end.
func (tl *Timeline) run(ctx context.Context, i int, start time.Time, s Scheduled, inj Injector) {
	plannedStart := start.Add(s.At)
	plannedEnd := plannedStart.Add(s.For)
	if !tl.sleepUntil(ctx, plannedStart) {
		tl.update(i, func(w *Window) { w.Err = "not started: " + tl.why(ctx) })
		return
	}
	if !time.Now().Before(plannedEnd) {
		tl.update(i, func(w *Window) { w.Err = "skipped: its planned end had passed when the timeline reached it" })
		return
	}
	clear, err := inj.Inject(s.Fault)
	now := time.Now()
	if err != nil {
		tl.update(i, func(w *Window) { w.Start, w.End, w.Err = now, now, "inject: "+err.Error() })
		return
	}
	tl.update(i, func(w *Window) { w.Start = now })
	tl.sleepUntil(ctx, plannedEnd) // ended early or on time: clear either way
	err = clear()
	end := time.Now()
	tl.update(i, func(w *Window) {
		w.End = end
		if err != nil {
			w.Err = "clear: " + err.Error()
		}
	})
}

// sleepUntil waits until t and reports true, or false if the timeline was stopped or
// ctx cancelled first.
func (tl *Timeline) sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-tl.stop:
			return false
		case <-ctx.Done():
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-tl.stop:
		return false
	case <-ctx.Done():
		return false
	}
}

func (tl *Timeline) why(ctx context.Context) string {
	select {
	case <-tl.stop:
		return "timeline stopped"
	default:
	}
	return "context ended: " + context.Cause(ctx).Error()
}

func (tl *Timeline) update(i int, f func(*Window)) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	f(&tl.windows[i])
}

// Windows returns a snapshot of every fault's window, in schedule order.
func (tl *Timeline) Windows() []Window {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return slices.Clone(tl.windows)
}

// Wait waits until every fault has ended (on schedule, or early because the context was
// cancelled or Stop was called) and returns the windows.
func (tl *Timeline) Wait() []Window {
	<-tl.done
	return tl.Windows()
}

// Stop ends the timeline early: faults in force are cleared at once, faults not yet
// started never start. It returns when every fault has been cleared. Calling it again,
// or after the timeline ended, is a no-op.
func (tl *Timeline) Stop() {
	tl.stopOnce.Do(func() { close(tl.stop) })
	<-tl.done
}
