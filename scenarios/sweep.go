package scenarios

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// unsweepable are keys a sweep may not vary: they name the scenario or are the sweep.
var unsweepable = []string{"name", "description", keySweep}

// Expand turns a scenario with a sweep into one scenario per point of the sweep: the
// cartesian product of its lists, in file order with the first key varying slowest. Each
// point is a deep copy of s with the point's values applied as by Set, Sweep cleared,
// Point set to "key=value,key=value" and Name kept. A scenario without a sweep expands to
// one copy of itself. Every point is validated; a sweep of more than MaxSweepPoints
// points is an error.
func Expand(s *Scenario) ([]*Scenario, error) {
	if s == nil {
		return nil, errors.New("scenarios: Expand of a nil scenario")
	}
	if len(s.Sweep) == 0 {
		c := s.Clone()
		if err := joinErrors(c.problems(false)); err != nil {
			return nil, err
		}
		return []*Scenario{c}, nil
	}
	c := &checker{s: s}
	c.sweepShape()
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	total := sweepPoints(s.Sweep)
	idx := make([]int, len(s.Sweep))
	out := make([]*Scenario, 0, total)
	var errs []*Error
	for range total {
		p := s.Clone()
		p.Sweep = nil
		p.src.forget(keySweep)
		parts := make([]string, len(s.Sweep))
		var perrs []*Error
		for i, ax := range s.Sweep {
			val := ax.Values[idx[i]]
			parts[i] = ax.Key + "=" + val
			o, _ := s.src.locate(fmt.Sprintf("%s.%s[%d]", keySweep, ax.Key, idx[i]))
			perrs = append(perrs, p.set(ax.Key, val, o)...)
		}
		p.Point = strings.Join(parts, ",")
		p.fullShapePoint(s.Sweep)
		if len(perrs) == 0 {
			perrs = p.problems(false)
		}
		for _, e := range perrs {
			e.Msg = "sweep point " + p.Point + ": " + e.Msg
		}
		errs = append(errs, perrs...)
		out = append(out, p)
		// Next point: the last key varies fastest.
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(s.Sweep[i].Values) {
				break
			}
			idx[i] = 0
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// sweepPoints is the number of points of a sweep, capped just above MaxSweepPoints.
func sweepPoints(axes []SweepAxis) int {
	n := 1
	for _, ax := range axes {
		n *= len(ax.Values)
		if n > MaxSweepPoints {
			return MaxSweepPoints + 1
		}
	}
	return n
}

// sweepShape checks the sweep's keys and lists.
func (c *checker) sweepShape() {
	s := c.s
	if len(s.Sweep) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, ax := range s.Sweep {
		key := keySweep + "." + ax.Key
		switch {
		case ax.Key == "":
			c.addf(keySweep, "name the key to sweep, such as cache.l1.ttl", "sweep has an empty key")
			continue
		case slices.Contains(unsweepable, ax.Key):
			c.addf(key, "sweep a setting such as cache.l1.ttl; every point keeps the scenario's name", "sweep: %s cannot be swept", ax.Key)
			continue
		case seen[ax.Key]:
			c.addf(key, "list all its values under one key", "sweep: %s appears twice", ax.Key)
			continue
		}
		seen[ax.Key] = true
		if _, _, ok := lookup(&Scenario{}, ax.Key); !ok {
			hint := didYouMean(suggest(ax.Key, settableKeys()))
			if hint == "" {
				hint = "sweep keys are the scenario's keys joined with dots, such as cache.l1.ttl"
			}
			c.addf(key, hint, "sweep: unknown key %q", ax.Key)
			continue
		}
		if len(ax.Values) == 0 {
			c.addf(key, "give it at least one value, such as [10s, 60s]", "sweep: %s has no values", ax.Key)
		}
		vals := map[string]int{}
		for i, v := range ax.Values {
			if j, dup := vals[v]; dup {
				c.addf(fmt.Sprintf("%s[%d]", key, i), "remove the repeated value", "sweep: %s lists %s twice (values %d and %d)", ax.Key, v, j+1, i+1)
			}
			vals[v] = i
		}
	}
	if n := sweepPoints(s.Sweep); n > MaxSweepPoints {
		c.addf(keySweep, fmt.Sprintf("sweep fewer values or fewer keys: at most %d points", MaxSweepPoints),
			"the sweep has more than %d points (the product of the lengths of its lists)", MaxSweepPoints)
	}
}

// sweepValues tries each sweep value alone on a copy of the scenario, so that a value that
// does not fit its key, or breaks the scenario, is reported at its own line.
func (c *checker) sweepValues() {
	s := c.s
	base := map[string]bool{}
	skip := map[string]bool{}
	for _, e := range c.errs {
		base[e.Key+"\x00"+e.Msg] = true
		if e.Key == keySweep {
			return // the sweep as a whole is wrong
		}
		if k, ok := strings.CutPrefix(e.Key, keySweep+"."); ok {
			skip[k] = true // this key is wrong: its values cannot be tried
		}
	}
	for _, ax := range s.Sweep {
		if skip[ax.Key] {
			continue
		}
		for i, val := range ax.Values {
			vk := fmt.Sprintf("%s.%s[%d]", keySweep, ax.Key, i)
			o, _ := s.src.locate(vk)
			p := s.Clone()
			p.Sweep = nil
			if errs := p.set(ax.Key, val, o); len(errs) > 0 {
				c.errs = append(c.errs, errs...)
				continue
			}
			p.fullShapePoint(s.Sweep)
			for _, e := range p.problems(false) {
				if base[e.Key+"\x00"+e.Msg] {
					continue
				}
				if !under(e.Key, ax.Key) {
					e = s.src.errAt(o, vk, fmt.Sprintf("with %s=%s, %s", ax.Key, val, e.Msg), e.Hint)
				}
				if s.src == nil {
					e.File = s.File
				}
				c.errs = append(c.errs, e)
			}
		}
	}
}

// fullShapePoint drops cache.fields from a point of a sweep over cache.shape whose shape
// is full: a sweep of [full, fields] names the fields once, for its fields points, and
// its full points keep whole objects.
func (p *Scenario) fullShapePoint(axes []SweepAxis) {
	if varies(axes, "cache.shape") && p.Cache.Shape == ShapeFull {
		p.Cache.Fields = nil
	}
}

// varies reports whether a sweep has an axis for key.
func varies(axes []SweepAxis, key string) bool {
	for _, ax := range axes {
		if ax.Key == key {
			return true
		}
	}
	return false
}
