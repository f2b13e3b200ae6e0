package cachecore

import (
	"context"
	"errors"
	"testing"
	"time"
)

type guardTestKey struct{}

// TestBoundedCtx: a guard's time-out context carries its parent's values but not its
// cancellation, reports a deadline the time-out away (rounded up to tickEvery), and is
// done, with DeadlineExceeded, once it passes.
func TestBoundedCtx(t *testing.T) {
	var ticks deadlineTicks
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), guardTestKey{}, "v"))
	const timeout = 30 * time.Millisecond
	start := time.Now()
	ctx := ticks.bound(parent, timeout)
	cancel()
	if got := ctx.Value(guardTestKey{}); got != "v" {
		t.Errorf("Value = %v, want the parent's v", got)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err right after the parent was cancelled = %v, want nil: the parent's cancellation must not reach it", err)
	}
	dl, ok := ctx.Deadline()
	if lo, hi := start.Add(timeout), time.Now().Add(timeout+time.Duration(2*tickEvery)); !ok || dl.Before(lo) || dl.After(hi) {
		t.Errorf("Deadline = %v, %v; want within [%v, %v]", dl, ok, lo, hi)
	}
	select {
	case <-ctx.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("not done 2 s after a 30 ms time-out")
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("done after %v, before its %v time-out", took, timeout)
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err after the deadline = %v, want DeadlineExceeded", err)
	}
	// A later call gets a later deadline and a channel still open.
	late := ticks.bound(context.Background(), timeout)
	if late.Err() != nil {
		t.Errorf("a new context is already done: %v", late.Err())
	}
}
