package scenarios

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// YAML writes the effective scenario, defaults included, as a scenario file in canonical
// form: every key in the order of the file format, durations as 30s or 5m, sizes as 64MiB,
// network in its mapping form. Parse reads it back to the same scenario. Empty lists, a
// zero duration or request count (whichever is unused) and File and Point are left out.
func (s *Scenario) YAML() ([]byte, error) {
	return yaml.MarshalWithOptions(canonical(reflect.ValueOf(s).Elem()), yaml.Indent(2), yaml.IndentSequence(true))
}

// canonical turns a struct of the scenario into an ordered YAML mapping.
func canonical(v reflect.Value) yaml.MapSlice {
	out := yaml.MapSlice{}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		k := fieldKey(f)
		if k == "-" {
			continue
		}
		fv := v.Field(i)
		if omit(t, k, v, fv) {
			continue
		}
		out = append(out, yaml.MapItem{Key: k, Value: canonicalValue(fv)})
	}
	if t == scenarioType {
		s := v.Addr().Interface().(*Scenario)
		if len(s.Sweep) > 0 {
			sw := yaml.MapSlice{}
			for _, ax := range s.Sweep {
				vals := make([]any, len(ax.Values))
				for i, x := range ax.Values {
					vals[i] = plainValue(x)
				}
				sw = append(sw, yaml.MapItem{Key: ax.Key, Value: vals})
			}
			out = append(out, yaml.MapItem{Key: keySweep, Value: sw})
		}
	}
	return out
}

// omit reports whether key k of struct type t is left out of the canonical form.
func omit(t reflect.Type, k string, v, fv reflect.Value) bool {
	switch fv.Kind() {
	case reflect.Slice, reflect.Map:
		return fv.Len() == 0
	}
	if t == scenarioType {
		s := v.Addr().Interface().(*Scenario)
		switch k {
		case "description":
			return s.Description == ""
		case "duration":
			return s.Duration == 0 && s.Requests > 0
		case "requests":
			return s.Requests == 0
		}
	}
	return false
}

func canonicalValue(v reflect.Value) any {
	switch v.Type() {
	case durationType:
		return formatDuration(time.Duration(v.Int()))
	case byteSizeType:
		return ByteSize(v.Int()).yamlValue()
	case networkType:
		m, _ := v.Interface().(Network).MarshalYAML()
		return m
	}
	switch v.Kind() {
	case reflect.Struct:
		return canonical(v)
	case reflect.Slice:
		out := make([]any, v.Len())
		for i := range v.Len() {
			out[i] = canonicalValue(v.Index(i))
		}
		return out
	case reflect.Map:
		keys := v.MapKeys()
		names := make([]string, len(keys))
		for i, k := range keys {
			names[i] = k.String()
		}
		slices.Sort(names)
		m := yaml.MapSlice{}
		for _, n := range names {
			m = append(m, yaml.MapItem{Key: n, Value: canonicalValue(v.MapIndex(reflect.ValueOf(n)))})
		}
		return m
	case reflect.String:
		return v.String()
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int64:
		return v.Int()
	case reflect.Float64:
		return v.Float()
	}
	return v.Interface()
}

// plainValue gives a sweep value its YAML type back, so that 512 is written as a number.
func plainValue(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil && strconv.FormatInt(i, 10) == s {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && strings.ContainsAny(s, ".") && strconv.FormatFloat(f, 'g', -1, 64) == s {
		return f
	}
	switch s {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}

// formatDuration writes d the way it would be typed: 30s, 5m, 24h, 1h30m, 250ms.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}
