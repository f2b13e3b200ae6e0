package bench

import (
	"context"
	"errors"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/reports"
	"github.com/cachebench/cachebench/scenarios"
)

// runVirtual runs s on the virtual clock (clock: virtual).
func runVirtual(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, opt Options) (*reports.Result, error) {
	return nil, errors.New("bench: clock: virtual is not available yet: remove clock: virtual (or --set clock=real) to run on the wall clock")
}
