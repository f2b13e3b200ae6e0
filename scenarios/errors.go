package scenarios

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Error is one problem with a scenario: where it is (a line of the file, or a --set
// override), what is wrong and how to fix it. Parse, Set, Load, Validate and Expand
// return one *Error, or several joined with errors.Join; errors.As finds them.
type Error struct {
	// File is the scenario's file name ("" when unknown).
	File string
	// Line and Col locate the problem in File, 1-based; 0 when the problem is not at one
	// place of the file (a default value, or the file as a whole).
	Line, Col int
	// Set is the override "key=value" the problem came from, "" when it came from the file.
	Set string
	// Key is the dotted key concerned ("cache.l1.ttl", "faults[1].for"), "" for the whole
	// scenario.
	Key string
	// Msg says what is wrong; Hint how to fix it ("" when there is nothing to add).
	Msg, Hint string
}

// Error formats e as "FILE:LINE:COL: what is wrong (hint: how to fix)", or
// "--set key=value: ..." for an override.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.Set != "":
		fmt.Fprintf(&b, "--set %s: ", e.Set)
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		fmt.Fprintf(&b, " (hint: %s)", e.Hint)
	}
	return b.String()
}

// origin is where a key's value was written: a place in the file, or a --set override.
type origin struct {
	line, col int
	set       string // "key=value" of a --set override; "" for the file
}

// source remembers, for one scenario, the file it came from, where each key was written
// and which keys could not be decoded, so that Validate can point at the right line and
// stay quiet about values it never received.
type source struct {
	file    string
	origins map[string]origin
	bad     map[string]bool
}

func newSource(file string) *source {
	return &source{file: file, origins: map[string]origin{}, bad: map[string]bool{}}
}

func (src *source) clone() *source {
	if src == nil {
		return nil
	}
	return &source{file: src.file, origins: maps.Clone(src.origins), bad: maps.Clone(src.bad)}
}

// has reports whether key was written in the file or by an override.
func (src *source) has(key string) bool {
	if src == nil {
		return false
	}
	_, ok := src.origins[key]
	return ok
}

// forget drops what is known about key and every key under it (key.x, key[i]).
func (src *source) forget(key string) {
	if src == nil {
		return
	}
	for k := range src.origins {
		if under(k, key) {
			delete(src.origins, k)
		}
	}
	for k := range src.bad {
		if under(k, key) {
			delete(src.bad, k)
		}
	}
}

// under reports whether k is key or a key inside it.
func under(k, key string) bool {
	if key == "" {
		return true
	}
	if !strings.HasPrefix(k, key) {
		return false
	}
	rest := k[len(key):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

// parent returns the key that holds key ("cache.l1" for "cache.l1.ttl", "faults[0]" for
// "faults[0].at", "faults" for "faults[0]"), or "".
func parent(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i <= 0 {
		return ""
	}
	return key[:i]
}

// isBad reports whether key, or a key holding it, could not be decoded.
func (src *source) isBad(key string) bool {
	if src == nil {
		return false
	}
	for k := key; k != ""; k = parent(k) {
		if src.bad[k] {
			return true
		}
	}
	return false
}

// locate returns where key was written: its own origin, else that of the nearest key
// holding it.
func (src *source) locate(key string) (origin, bool) {
	if src == nil {
		return origin{}, false
	}
	for k := key; k != ""; k = parent(k) {
		if o, ok := src.origins[k]; ok {
			return o, true
		}
	}
	return origin{}, false
}

// errAt makes an Error located at o.
func (src *source) errAt(o origin, key, msg, hint string) *Error {
	e := &Error{Key: key, Msg: msg, Hint: hint}
	if src != nil {
		e.File = src.file
	}
	if o.set != "" {
		e.Set = o.set
	} else {
		e.Line, e.Col = o.line, o.col
	}
	return e
}

// joinErrors sorts errs by place and joins them; nil when there are none. Errors at the
// same place with the same message are reported once.
func joinErrors(errs []*Error) error {
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *Error) int {
		// Problems in the file first, in file order; then the overrides; then the rest.
		rank := func(e *Error) int {
			switch {
			case e.Set == "" && e.Line > 0:
				return 0
			case e.Set != "":
				return 1
			}
			return 2
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	out := make([]error, 0, len(errs))
	seen := map[string]bool{}
	for _, e := range errs {
		if s := e.Error(); !seen[s] {
			seen[s] = true
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// suggest returns the candidates closest to word, at most five, best first: those a few
// edits away; failing that, those with the same last segment (ttl for cache.l1.ttl);
// failing that, those containing word or contained in it.
func suggest(word string, candidates []string) []string {
	last := word[strings.LastIndexByte(word, '.')+1:]
	tiers := []func(c string) bool{
		func(c string) bool { return editDistance(word, c) <= max(2, len(word)/4) },
		func(c string) bool {
			cl := c[strings.LastIndexByte(c, '.')+1:]
			return last != "" && (cl == last || (len(last) > 3 && editDistance(last, cl) <= 1))
		},
		func(c string) bool {
			return len(word) >= 3 && len(c) >= 3 && (strings.Contains(c, word) || strings.Contains(word, c))
		},
	}
	for _, match := range tiers {
		var out []string
		for _, c := range candidates {
			if c != word && match(c) && !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
		if len(out) > 0 {
			slices.SortStableFunc(out, func(a, b string) int { return cmp.Compare(editDistance(word, a), editDistance(word, b)) })
			return out[:min(len(out), 5)]
		}
	}
	return nil
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// oneOf formats choices as "a, b or c".
func oneOf(choices []string) string {
	switch len(choices) {
	case 0:
		return ""
	case 1:
		return choices[0]
	}
	return strings.Join(choices[:len(choices)-1], ", ") + " or " + choices[len(choices)-1]
}

// didYouMean formats suggestions as a hint, or "" when there are none.
func didYouMean(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return "did you mean " + oneOf(s) + "?"
}
