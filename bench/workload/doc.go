// Package workload builds the request stream of a cachebench run from its scenario: when
// each request is due, which object it asks for and what it does, all deterministic for
// the scenario's seed.
//
// It owns the arrival models (constant, poisson, ramp, steps: open-loop schedules of
// intended start times, as vegeta's pacer hands out; closed, which has none), key
// popularity (uniform, zipf for any exponent > 0, hotspot with a moving hot set, and
// trace replay), the object-type mix and Stripe-style IDs, and the operation mix. Each
// part draws from its own random stream derived from the seed, so changing one part of a
// scenario leaves the others' sequences as they were. The runner pulls requests from a
// Generator into a Request it owns; Next does not allocate.
//
//	g, err := workload.NewGenerator(scenario, scenario.Warmup+scenario.Duration)
//	if err != nil {
//		return err
//	}
//	var r workload.Request
//	for g.Next(&r) {
//		// wait until start+r.At, then send r.Op on r.Object r.ID;
//		// latency counts from start+r.At, however late it is sent
//	}
package workload
