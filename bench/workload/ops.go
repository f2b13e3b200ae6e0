package workload

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/cachebench/cachebench/scenarios"
)

// Op is the operation of a request.
type Op uint8

// Operations (the keys of ops, and the third column of a trace).
const (
	// OpGet reads the object through the cache.
	OpGet Op = iota
	// OpUpdate changes the object at the origin (Stripe), which then sends its webhook.
	OpUpdate
)

// String returns "get" or "update".
func (o Op) String() string {
	switch o {
	case OpGet:
		return "get"
	case OpUpdate:
		return "update"
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// shareTolerance is how far shares may sum from 1 (they are written by hand in YAML).
const shareTolerance = 1e-6

// opChooser draws operations by their shares.
type opChooser struct {
	update float64 // share of updates
	rng    *rand.Rand
}

func newOpChooser(o scenarios.Ops, seed uint64) (opChooser, error) {
	var errs []error
	if o.Get < 0 || math.IsNaN(o.Get) {
		errs = append(errs, fmt.Errorf("ops.get must be between 0 and 1, got %v", o.Get))
	}
	if o.Update < 0 || math.IsNaN(o.Update) {
		errs = append(errs, fmt.Errorf("ops.update must be between 0 and 1, got %v", o.Update))
	}
	if len(errs) > 0 {
		return opChooser{}, errors.Join(errs...)
	}
	sum := o.Get + o.Update
	if sum == 0 { // zero value: the default, every request a get
		return opChooser{rng: newRand(seed)}, nil
	}
	if math.Abs(sum-1) > shareTolerance {
		return opChooser{}, fmt.Errorf("ops: get (%v) and update (%v) must sum to 1, got %v", o.Get, o.Update, sum)
	}
	return opChooser{update: o.Update / sum, rng: newRand(seed)}, nil
}

func (c *opChooser) next() Op {
	switch {
	case c.update <= 0:
		return OpGet
	case c.update >= 1:
		return OpUpdate
	case c.rng.Float64() < c.update:
		return OpUpdate
	}
	return OpGet
}

// objectChooser draws the object type of each request by keys.mix.
type objectChooser struct {
	names []string  // sorted, so a map's order does not change the sequence
	cum   []float64 // cumulative shares; the last is 1
	rng   *rand.Rand
}

func newObjectChooser(k scenarios.Keys, seed uint64) (objectChooser, error) {
	if len(k.Mix) == 0 {
		obj := k.Object
		if obj == "" {
			obj = ObjectCustomer
		}
		if err := checkObject("keys.object", obj); err != nil {
			return objectChooser{}, err
		}
		return objectChooser{names: []string{obj}, cum: []float64{1}}, nil
	}
	names := make([]string, 0, len(k.Mix))
	for name := range k.Mix {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	sum := 0.0
	for _, name := range names {
		share := k.Mix[name]
		if err := checkObject("keys.mix", name); err != nil {
			errs = append(errs, err)
		}
		if share < 0 || share > 1 || math.IsNaN(share) {
			errs = append(errs, fmt.Errorf("keys.mix.%s must be between 0 and 1, got %v", name, share))
			continue
		}
		sum += share
	}
	if len(errs) == 0 && math.Abs(sum-1) > shareTolerance {
		errs = append(errs, fmt.Errorf("keys.mix: shares must sum to 1, got %v", sum))
	}
	if len(errs) > 0 {
		return objectChooser{}, errors.Join(errs...)
	}
	c := objectChooser{names: names, cum: make([]float64, len(names)), rng: newRand(seed)}
	acc := 0.0
	for i, name := range names {
		acc += k.Mix[name] / sum
		c.cum[i] = acc
	}
	c.cum[len(c.cum)-1] = 1
	return c, nil
}

// next returns the index in names of the next request's object type.
func (c *objectChooser) next() int {
	if len(c.names) == 1 {
		return 0
	}
	u := c.rng.Float64()
	for i, cum := range c.cum {
		if u < cum {
			return i
		}
	}
	return len(c.cum) - 1
}
