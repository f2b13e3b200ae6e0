package workload

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/cachebench/cachebench/scenarios"
)

// Request is one request of the stream. The caller owns it and passes it to
// Generator.Next or NextKey to be filled in; its strings point into tables the generator
// built up front, so filling it allocates nothing.
type Request struct {
	// At is the intended start: the offset from the start of the run (warm-up included)
	// at which the request is due. Latency counts from here.
	At time.Duration
	// Op is the operation.
	Op Op
	// Object is the object type (customer, subscription, ...).
	Object string
	// Index is the key index in [0, Generator.Count()); with a mix of object types the
	// pair (Object, Index) names one object.
	Index int
	// ID is the object's Stripe ID, such as "cus_cb0000000042" (see IDs).
	ID string
}

// Generator is the request stream of a scenario: arrival times, object types, keys and
// operations, each drawn from its own stream seeded from the scenario's seed, so that the
// same seed gives the same requests and changing one part (the arrival model, say) does
// not change the others. Like vegeta's attacker, one goroutine (the pacer) should draw
// from it; it is not safe for concurrent use.
type Generator struct {
	closed   bool
	sched    Schedule // the arrival times; nil for the closed model and for a trace
	expected float64

	keys    KeyChooser
	objects objectChooser
	ids     []idTable // per object type, parallel to objects.names
	ops     opChooser

	trace   *Trace       // the trace of a trace scenario, whose rows supply everything
	stream  *traceStream // its rows, read as they are due
	horizon time.Duration
	done    bool

	// shard and shards keep this generator's share of a sharded run (see Shard); shards
	// is 0 for the whole run. seq counts the whole run's requests drawn so far.
	shard, shards int
	seq           uint64
	// limited: the stream ends after limit requests due at or after limitFrom (see Limit).
	limited   bool
	limitFrom time.Duration
	limit     int64
	ended     bool
}

// NewGenerator returns the request stream of s over [0, horizon) (horizon <= 0: no end;
// not for ramp), normally the warm-up plus the duration. For a closed arrival model it has
// no times: Next reports false and NextKey gives the requests. For the trace distribution
// the trace file (see TracePath) supplies the times, keys and operations, and s.Arrival
// is ignored unless it is closed, in which case NextKey replays the trace's keys without
// their times. It returns every problem with s it finds, each naming its field.
func NewGenerator(s *scenarios.Scenario, horizon time.Duration) (*Generator, error) {
	seed := uint64(s.Seed)
	g := &Generator{}
	var errs []error
	isTrace := distribution(s.Keys) == scenarios.DistTrace
	g.closed = Closed(s.Arrival)
	if g.closed {
		if err := CheckArrival(s.Arrival, horizon); err != nil {
			errs = append(errs, err)
		}
	} else if !isTrace {
		sched, err := NewSchedule(s.Arrival, horizon, derive(seed, streamArrivals))
		if err != nil {
			errs = append(errs, err)
		}
		g.sched = sched
		g.expected = Expected(s.Arrival, horizon)
	}
	if isTrace {
		tr, err := loadScenarioTrace(s)
		var pe *fs.PathError
		if errors.As(err, &pe) { // the file, not its contents (those errors name file:line)
			err = fmt.Errorf("keys.trace: %w", err)
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			g.trace = tr
			g.stream = tr.stream()
			g.horizon = horizon
			if !g.closed {
				g.expected = tr.requestsBefore(horizon)
			}
		}
	} else {
		keys, err := NewKeys(s.Keys, derive(seed, streamKeys))
		if err != nil {
			errs = append(errs, err)
		}
		g.keys = keys
		objs, err := newObjectChooser(s.Keys, derive(seed, streamObjects))
		if err != nil {
			errs = append(errs, err)
		}
		g.objects = objs
		ops, err := newOpChooser(s.Ops, derive(seed, streamOps))
		if err != nil {
			errs = append(errs, err)
		}
		g.ops = ops
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if g.trace == nil {
		for _, obj := range g.objects.names {
			g.ids = append(g.ids, newIDTable(obj, g.keys.Count()))
		}
	}
	return g, nil
}

// Closed reports whether the generator has no schedule (the closed model): use NextKey.
func (g *Generator) Closed() bool { return g.closed }

// Expected returns the expected number of requests before the horizon: the integral of
// the arrival rate, the trace's number of rows before the horizon, +Inf with no horizon,
// and 0 for the closed model; for a shard (see Shard), that divided by the shard count.
func (g *Generator) Expected() float64 { return g.expected }

// Count returns the number of distinct keys (per object type): keys.count, or the number
// of distinct keys of a trace.
func (g *Generator) Count() int {
	if g.trace != nil {
		return g.trace.Count()
	}
	return g.keys.Count()
}

// Objects returns the object types the requests ask for.
func (g *Generator) Objects() []string {
	if g.trace == nil {
		return append([]string(nil), g.objects.names...)
	}
	var out []string
	seen := map[string]bool{}
	for _, obj := range g.trace.objects {
		if !seen[obj] {
			seen[obj] = true
			out = append(out, obj)
		}
	}
	return out
}

// ErrShardClosed is returned by Shard for the closed model, whose requests have no
// schedule to split: each worker sends its next request when its last one ends, so which
// requests a run makes depends on how fast the system answered them.
var ErrShardClosed = errors.New("the closed arrival model cannot be sharded: its requests follow their completions, not a schedule; use an open model (constant, poisson, ramp, steps) or run one process")

// Shard makes g the stream of shard index of count (0 <= index < count) of a sharded run:
// g still draws every request of the whole run, in the same order from the same streams,
// and Next keeps the j-th (counting from 0) when j mod count == index, except that every
// update goes to shard 0, which alone changes the origin. The shards of one seed thus
// never overlap, and together they are exactly the whole run's stream, keys, operations
// and intended times included. Drawing the others' requests costs each shard count times
// the generator's work (about 100 ns a request), far less than sending one. Call it
// before the first Next; it refuses the closed model (ErrShardClosed).
func (g *Generator) Shard(index, count int) error {
	if count < 1 || index < 0 || index >= count {
		return fmt.Errorf("shard %d/%d: the index must be from 0 to count-1 and the count at least 1", index, count)
	}
	if g.closed {
		return ErrShardClosed
	}
	g.shard, g.shards = index, count
	if count > 1 {
		g.expected /= float64(count)
	}
	return nil
}

// Limit ends the whole run's stream once n requests due at or after from (the end of the
// warm-up) have been drawn: a scenario's requests count, counted before Shard splits the
// stream, so the shards of a run with a request count make exactly that many between
// them. n <= 0 removes the limit.
func (g *Generator) Limit(from time.Duration, n int64) {
	g.limited, g.limitFrom, g.limit = n > 0, from, n
}

// keep reports whether the whole run's next request, r, is this shard's.
func (g *Generator) keep(r *Request) bool {
	j := g.seq
	g.seq++
	if g.shards <= 1 {
		return true
	}
	if r.Op == OpUpdate {
		return g.shard == 0
	}
	return j%uint64(g.shards) == uint64(g.shard)
}

// Next fills r with the next request, At included, and reports whether there is one: it
// reports false past the horizon, at the end of a trace, and always for the closed model.
// With Shard, it gives this shard's requests only. It does not allocate.
func (g *Generator) Next(r *Request) bool {
	for !g.ended {
		if !g.next(r) {
			return false
		}
		if g.limited && r.At >= g.limitFrom {
			if g.limit == 0 {
				g.ended = true
				if g.stream != nil && !g.done {
					g.done = true
					g.stream.close()
				}
				return false
			}
			g.limit--
		}
		if g.keep(r) {
			return true
		}
	}
	return false
}

// next fills r with the whole run's next request.
func (g *Generator) next(r *Request) bool {
	if g.closed {
		return false
	}
	if g.trace != nil {
		var row traceRow
		if !g.nextRow(&row) {
			return false
		}
		g.fillRow(r, row)
		r.At = row.at
		return true
	}
	at, ok := g.sched.Next()
	if !ok {
		return false
	}
	r.At = at
	g.fill(r)
	return true
}

// NextKey fills r with the next request's object, key and operation, leaving r.At as the
// caller set it: a closed-model worker sets r.At to the time elapsed since the start, which
// a moving hot set follows. It reports false only at the end of a trace. It does not
// allocate.
func (g *Generator) NextKey(r *Request) bool {
	if g.trace != nil {
		var row traceRow
		if !g.nextRow(&row) {
			return false
		}
		g.fillRow(r, row)
		return true
	}
	g.fill(r)
	return true
}

func (g *Generator) fill(r *Request) {
	o := g.objects.next()
	k := g.keys.Next(r.At)
	r.Object = g.objects.names[o]
	r.Index = k
	r.ID = g.ids[o].id(k)
	r.Op = g.ops.next()
}

// nextRow reads the trace's next row before the horizon.
func (g *Generator) nextRow(row *traceRow) bool {
	if g.done || !g.stream.next(row) || (g.horizon > 0 && row.at >= g.horizon) {
		if !g.done {
			g.done = true
			g.stream.close()
		}
		return false
	}
	return true
}

// Err returns what ended a trace's replay before its end (the file changed or became
// unreadable during the run), or nil.
func (g *Generator) Err() error {
	if g.stream == nil {
		return nil
	}
	return g.stream.Err()
}

// Trace returns the trace of a trace scenario, or nil.
func (g *Generator) Trace() *Trace { return g.trace }

func (g *Generator) fillRow(r *Request, row traceRow) {
	r.Object = g.trace.objects[row.key]
	r.ID = g.trace.ids[row.key]
	r.Index = int(row.key)
	r.Op = row.op
}

// loadScenarioTrace loads s's trace file; a built-in scenario's trace comes from the copy
// embedded in the program when the file is not on disk.
func loadScenarioTrace(s *scenarios.Scenario) (*Trace, error) {
	path := TracePath(s)
	opt := TraceOptionsOf(s.Keys)
	if _, err := os.Stat(path); err != nil {
		if data, ok := scenarios.BuiltinTrace(s.File, s.Keys.Trace); ok {
			if opt.Format == "" {
				f, err := TraceFormatOf(path)
				if err != nil {
					return nil, err
				}
				opt.Format = f
			}
			return ParseTraceWith(bytes.NewReader(data), path, opt)
		}
	}
	return LoadTraceWith(path, opt)
}
