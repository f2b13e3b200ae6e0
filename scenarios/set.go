package scenarios

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// Parse reads a scenario file: data is its content and file its name, used in messages,
// as Scenario.File and, when the file has no name key, for the name (file name without
// its extension). Keys absent from the file keep their Defaults. Parse is strict: an
// unknown key, a value of the wrong type or unit, and everything Validate rejects are
// errors, all reported at once as "FILE:LINE:COL: what is wrong (hint: how to fix)".
func Parse(data []byte, file string) (*Scenario, error) {
	s, errs := decode(data, file)
	if s == nil {
		return nil, joinErrors(errs)
	}
	errs = append(errs, s.problems(len(errs) == 0)...)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// decode reads data over the defaults, without validating the result; nil when data is
// not YAML at all.
func decode(data []byte, file string) (*Scenario, []*Error) {
	s := Defaults()
	s.File = file
	s.src = newSource(file)
	// A byte-order mark (some Windows editors save one) is allowed by YAML; without this
	// the first key would read as "\ufeffname".
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	n, perr := parseYAML(data, s.src, nil)
	if perr != nil {
		return nil, []*Error{perr}
	}
	if _, isNull := n.(*ast.NullNode); n == nil || isNull {
		// An empty or comment-only file is most likely a mistake (a file not saved, the
		// wrong path): running the defaults would measure something nobody asked for.
		return nil, []*Error{s.src.errAt(origin{}, "", "the scenario file is empty (no keys, only comments or blank lines)",
			"write at least name, duration and arrival (see scenarios/baseline.yaml), or run a named scenario: cachebench list")}
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) == 0 {
		// {} says no more than an empty file.
		return nil, []*Error{s.src.errAt(origin{}, "", "the scenario file is empty (an empty mapping {}, no keys)",
			"write at least name, duration and arrival (see scenarios/baseline.yaml), or run a named scenario: cachebench list")}
	}
	d := newDecoder(s.src, nil)
	d.collectAnchors(n, 0)
	if _, isNull := n.(*ast.NullNode); n != nil && !isNull {
		d.value("", n, reflect.ValueOf(&s).Elem())
	}
	// A file that counts requests runs no default duration.
	if s.src.has("requests") && !s.src.has("duration") {
		s.Duration = 0
	}
	s.traceDefaults()
	s.deriveOps()
	if !s.src.has("name") {
		base := filepath.Base(file)
		s.Name = strings.TrimSuffix(base, filepath.Ext(base))
		if file == "" {
			s.Name = ""
		}
	}
	return &s, d.problems()
}

// deriveOps completes ops when only one share was written: update 0.05 alone means get
// 0.95, and the other way round.
func (s *Scenario) deriveOps() {
	src := s.src
	switch get, upd := src.has("ops.get"), src.has("ops.update"); {
	case upd && !get && !src.isBad("ops.update"):
		s.Ops.Get = round(1 - s.Ops.Update)
	case get && !upd && !src.isBad("ops.get"):
		s.Ops.Update = round(1 - s.Ops.Get)
	}
}

// Set overrides one key, as `--set key=value` does. key is a dotted path of YAML keys
// (cache.l1.ttl, arrival.rate, lambda.memory_mb, keys.mix.customer, network,
// network.redis, network.redis.latency, duration, sweep, ...); value is YAML, decoded
// into that key as strictly as in a file (a mapping sets the keys it names and keeps the
// others; a list replaces the list). A value that is not YAML, or not a plain value, is
// taken as text for a text key. Besides the key itself:
//
//   - duration clears requests and requests clears duration;
//   - ops.update alone sets ops.get to 1-update (and the other way round) unless the
//     other share was written too;
//   - a custom figure (network.redis.latency) makes that service's profile custom, and a
//     named profile (network.redis.profile) drops its custom figures.
//
// Set changes nothing when it fails. It does not validate the whole scenario: call
// Validate after the last override (Load does).
func (s *Scenario) Set(key, value string) error {
	return joinErrors(s.set(key, value, origin{set: key + "=" + value}))
}

// set applies one override, recording o as where it came from.
func (s *Scenario) set(key, value string, o origin) []*Error {
	if s.src == nil {
		s.src = newSource(s.File)
	}
	c := s.Clone()
	src := c.src
	if key == keySweep {
		n, perr := parseYAML([]byte(value), src, &o)
		if perr != nil {
			return []*Error{perr}
		}
		d := newDecoder(src, &o)
		d.collectAnchors(n, 0)
		if n == nil {
			n = &ast.NullNode{}
		}
		d.sweep(keySweep, n, c)
		if len(d.errs) > 0 {
			return d.problems()
		}
		*s = *c
		return nil
	}
	v, mapKey, ok := lookup(c, key)
	if !ok {
		hint := didYouMean(suggest(key, settableKeys()))
		if hint == "" {
			hint = "keys are the scenario file's keys joined with dots, such as cache.l1.ttl or arrival.rate"
		}
		return []*Error{src.errAt(o, key, fmt.Sprintf("unknown key %q", key), hint)}
	}
	target := v
	if mapKey != "" {
		target = reflect.New(v.Type().Elem()).Elem()
	}
	n, perr := parseYAML([]byte(value), src, &o)
	if target.Kind() == reflect.String {
		if _, scalar := scalarText(n); perr != nil || !scalar {
			// Text keys take the value as it is: --set description=reads: 95%.
			n, perr = &ast.StringNode{BaseNode: &ast.BaseNode{}, Value: value}, nil
		}
	}
	if perr != nil {
		return []*Error{perr}
	}
	d := newDecoder(src, &o)
	d.collectAnchors(n, 0)
	if n == nil {
		d.fail(n, key, key+" has no value", "write --set "+key+"=VALUE")
	} else {
		d.value(key, n, target)
	}
	if len(d.errs) > 0 {
		return d.problems()
	}
	if mapKey != "" {
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		v.SetMapIndex(reflect.ValueOf(mapKey), target)
	}
	c.afterSet(key)
	*s = *c
	return nil
}

// afterSet applies the rules that tie a key to others (see Set).
func (s *Scenario) afterSet(key string) {
	switch key {
	case "keys.trace", "keys.distribution":
		s.traceDefaults()
	case "duration":
		s.Requests = 0
		s.src.forget("requests")
	case "requests":
		s.Duration = 0
		s.src.forget("duration")
	}
	if under(key, "ops") {
		s.deriveOps()
	}
	parts := strings.Split(key, ".")
	if len(parts) == 3 && parts[0] == "network" {
		link := map[string]*NetLink{"redis": &s.Network.Redis, "dynamodb": &s.Network.DynamoDB, "stripe": &s.Network.Stripe}[parts[1]]
		if link == nil {
			return
		}
		if parts[2] == "profile" {
			if link.Profile != ProfileCustom {
				*link = NetLink{Profile: link.Profile}
				s.src.forget(parts[0] + "." + parts[1] + ".latency")
				s.src.forget(parts[0] + "." + parts[1] + ".jitter")
				s.src.forget(parts[0] + "." + parts[1] + ".bandwidth")
			}
		} else if link.Profile != ProfileCustom {
			link.Profile = ProfileCustom
		}
	}
}

// traceDefaults applies what a trace file implies: keys.trace with no distribution named
// means distribution: trace (a trace named and then ignored would measure a synthetic
// workload under the trace's name), and a trace replays to its end unless duration or
// requests says otherwise.
func (s *Scenario) traceDefaults() {
	if strings.TrimSpace(s.Keys.Trace) != "" && !s.src.has("keys.distribution") {
		s.Keys.Distribution = DistTrace
	}
	if s.Keys.Distribution == DistTrace && !s.src.has("duration") && !s.src.has("requests") {
		s.Duration = 0
	}
}

// lookup finds the value of dotted key in s: a field, or an entry of a map field (then
// mapKey is the entry's key and v the map).
func lookup(s *Scenario, key string) (v reflect.Value, mapKey string, ok bool) {
	if key == "" {
		return reflect.Value{}, "", false
	}
	v = reflect.ValueOf(s).Elem()
	parts := strings.Split(key, ".")
	for i, p := range parts {
		if p == "" {
			return reflect.Value{}, "", false
		}
		if v.Kind() == reflect.Map && i == len(parts)-1 {
			return v, p, true
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, "", false
		}
		f, found := fieldByKey(v, p)
		if !found {
			return reflect.Value{}, "", false
		}
		v = f
	}
	return v, "", true
}

// settableKeys lists every key Set accepts, in the order of the scenario file.
func settableKeys() []string {
	var out []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for f := range t.Fields() {
			k := fieldKey(f)
			if k == "-" {
				continue
			}
			full := join(prefix, k)
			out = append(out, full)
			switch f.Type.Kind() {
			case reflect.Struct:
				walk(full, f.Type)
			case reflect.Map:
				for _, o := range objects {
					out = append(out, full+"."+o)
				}
			}
		}
	}
	walk("", scenarioType)
	return append(out, keySweep)
}

// SettableKeys lists the dotted keys Set accepts, in the order of the scenario file (the
// entries of keys.mix by object name).
func SettableKeys() []string { return settableKeys() }

// Load reads a scenario by name or path, applies the --set overrides in order and
// validates the result. nameOrPath is a path when it contains a slash or ends in .yaml or
// .yml; otherwise it names a built-in scenario (see List). sets are "key=value" strings
// (see Set). Every problem of the file, the overrides and the result is reported at once.
func Load(nameOrPath string, sets []string) (*Scenario, error) {
	var (
		data []byte
		file string
		err  error
	)
	if isPath(nameOrPath) {
		file = nameOrPath
		if data, err = os.ReadFile(nameOrPath); err != nil {
			return nil, fmt.Errorf("scenario %s: %w", nameOrPath, err)
		}
	} else {
		if data, err = Builtin(nameOrPath); err != nil {
			return nil, err
		}
		file = builtinFile(nameOrPath)
	}
	s, errs := decode(data, file)
	if s == nil {
		return nil, joinErrors(errs)
	}
	for _, kv := range sets {
		key, value, ok := strings.Cut(kv, "=")
		if !ok {
			errs = append(errs, &Error{Set: kv, Msg: "an override is key=value", Hint: "write --set cache.l1.ttl=10s"})
			continue
		}
		errs = append(errs, s.set(strings.TrimSpace(key), value, origin{set: kv})...)
	}
	errs = append(errs, s.problems(len(errs) == 0)...)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

func isPath(s string) bool {
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

// Clone returns a deep copy of s: changing one never changes the other.
func (s *Scenario) Clone() *Scenario {
	c := *s
	c.Arrival.Steps = slices.Clone(s.Arrival.Steps)
	c.Keys.Mix = maps.Clone(s.Keys.Mix)
	c.Keys.Expand = slices.Clone(s.Keys.Expand)
	c.Faults = slices.Clone(s.Faults)
	c.Thresholds = slices.Clone(s.Thresholds)
	c.Cache.Fields = slices.Clone(s.Cache.Fields)
	c.Sweep = nil
	for _, ax := range s.Sweep {
		c.Sweep = append(c.Sweep, SweepAxis{Key: ax.Key, Values: slices.Clone(ax.Values)})
	}
	c.src = s.src.clone()
	return &c
}

// TracePath is keys.trace resolved against the scenario file's folder when relative.
func (s *Scenario) TracePath() string {
	t := s.Keys.Trace
	if t == "" || filepath.IsAbs(t) || s.File == "" {
		return t
	}
	return filepath.Join(filepath.Dir(s.File), t)
}
