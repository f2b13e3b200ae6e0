// Package scenarios owns the scenario file: its YAML schema (the Scenario type), the
// strict parser that reports every unknown key and bad value at once as
// "FILE:LINE:COL: what is wrong (hint: how to fix)", the defaults of absent keys,
// `--set key=value` overrides, threshold expressions, the expansion of a sweep into one
// scenario per point, and the named scenarios shipped as scenarios/*.yaml.
//
// A run loads a scenario by name or path, applies the overrides, and runs each point:
//
//	s, err := scenarios.Load("ttl-sweep", []string{"arrival.rate=200"})
//	if err != nil {
//		return err // every problem, each with its file:line or override, and a hint
//	}
//	points, err := scenarios.Expand(s) // one scenario per sweep point, in order
//	for _, p := range points {
//		fmt.Println(p.Name, p.Point, p.Cache.L1.TTL)
//	}
//
// The package holds no state: built-in scenarios are embedded files, and every Scenario
// carries what it knows about where its values came from.
package scenarios
