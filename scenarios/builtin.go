package scenarios

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// builtins holds the named scenarios shipped with cachebench, one NAME.yaml each.
//
//go:embed *.yaml
var builtins embed.FS

// builtinTraces holds the traces the built-in scenarios replay (traces/NAME...).
//
//go:embed traces
var builtinTraces embed.FS

// BuiltinTrace returns a trace shipped with the built-in scenarios: file is the scenario's
// File ("scenarios/NAME.yaml") and trace its keys.trace as written (traces/...). It
// reports false when the scenario is not a built-in or ships no such trace, so a
// built-in replays its trace from any working directory.
func BuiltinTrace(file, trace string) ([]byte, bool) {
	name, ok := strings.CutSuffix(strings.TrimPrefix(file, "scenarios/"), ".yaml")
	if !ok || file != builtinFile(name) || !slices.Contains(builtinNames(), name) {
		return nil, false
	}
	if !fs.ValidPath(trace) || !strings.HasPrefix(trace, "traces/") {
		return nil, false
	}
	data, err := fs.ReadFile(builtinTraces, trace)
	return data, err == nil
}

// Info describes a built-in scenario for `cachebench list`.
type Info struct {
	Name        string
	Description string
	// File is "scenarios/NAME.yaml", as Scenario.File of the loaded scenario.
	File string
}

// List describes the built-in scenarios, sorted by name.
func List() []Info {
	var out []Info
	for _, name := range builtinNames() {
		info := Info{Name: name, File: builtinFile(name)}
		data, err := fs.ReadFile(builtins, name+".yaml")
		if err == nil {
			if s, errs := decode(data, info.File); s != nil && len(errs) == 0 {
				info.Description = s.Description
			}
		}
		out = append(out, info)
	}
	return out
}

// Builtin returns the YAML of the built-in scenario name.
func Builtin(name string) ([]byte, error) {
	names := builtinNames()
	if !slices.Contains(names, name) {
		hint := "run `cachebench list` to see them, or give the path of a scenario file (ending in .yaml)"
		if s := suggest(name, names); len(s) > 0 {
			hint = didYouMean(s) + " Run `cachebench list` to see them all, or give the path of a scenario file"
		}
		return nil, &Error{
			Msg:  fmt.Sprintf("unknown scenario %q; the built-in scenarios are %s", name, strings.Join(names, ", ")),
			Hint: hint,
		}
	}
	return fs.ReadFile(builtins, name+".yaml")
}

// builtinNames lists the built-in scenarios' names, sorted.
func builtinNames() []string {
	entries, _ := fs.ReadDir(builtins, ".")
	var names []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok && !e.IsDir() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func builtinFile(name string) string { return path.Join("scenarios", name+".yaml") }
