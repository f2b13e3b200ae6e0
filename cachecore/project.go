package cachecore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Projection keeps the named top-level fields of a Stripe object's JSON and drops the
// rest, so the tiers hold only what the caller reads. It always keeps "id" and "object":
// the cache's keys and a typed read (GetCustomer) rely on them. Versions do not: the
// origin and Apply read an object's version before it is projected, so a projection
// without "metadata" still orders its states. A Projection is immutable and safe for
// concurrent use.
type Projection struct {
	// fields are the kept names in output order: id, object, then the caller's, without
	// repeats.
	fields []string
	// quoted are fields as JSON strings, ready to write.
	quoted [][]byte
}

// NewProjection returns the Projection keeping fields (plus id and object). Names are
// top-level keys of the object; a dotted path such as "metadata.plan" is refused (keep
// "metadata" instead), as is an empty name. No fields at all is an error too: a cache
// that keeps the whole object needs no Projection.
func NewProjection(fields []string) (*Projection, error) {
	if len(fields) == 0 {
		return nil, errors.New("cachecore: projection: no fields named (leave Config.Fields empty to keep whole objects)")
	}
	p := &Projection{fields: []string{"id", "object"}}
	var errs []error
	for _, f := range fields {
		switch {
		case strings.TrimSpace(f) == "":
			errs = append(errs, errors.New("cachecore: projection: an empty field name"))
		case strings.Contains(f, "."):
			errs = append(errs, fmt.Errorf("cachecore: projection: field %q is a nested path; name its top-level field (%q)", f, f[:strings.IndexByte(f, '.')]))
		case !slices.Contains(p.fields, f):
			p.fields = append(p.fields, f)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, f := range p.fields {
		q, _ := json.Marshal(f) // a string always marshals
		p.quoted = append(p.quoted, q)
	}
	return p, nil
}

// Fields returns the names kept, in output order: id, object, then the others.
func (p *Projection) Fields() []string { return slices.Clone(p.fields) }

// Apply returns the JSON object raw with only the projection's fields, in the
// projection's order; a named field the object lacks is left out (of a name given twice
// in raw, the last counts, as encoding/json decides). Each kept value is copied verbatim,
// whitespace inside it included; the object around them is written compact. raw that is
// not a JSON object is an error, never a panic.
//
// raw is checked with json.Valid, then walked once without decoding the values it drops:
// about twice json.Valid's time and one allocation, where decoding into a map took about
// eight times and an allocation per field (BenchmarkProjection, a 500-byte customer).
func (p *Projection) Apply(raw []byte) ([]byte, error) {
	if !json.Valid(raw) {
		var v any
		err := json.Unmarshal(raw, &v)
		if err == nil { // cannot happen: Valid and Unmarshal agree
			err = errors.New("invalid JSON")
		}
		return nil, fmt.Errorf("cachecore: projection: want a JSON object: %w", err)
	}
	i := skipSpace(raw, 0)
	if raw[i] != '{' {
		return nil, fmt.Errorf("cachecore: projection: want a JSON object, got %s", jsonKind(raw[i]))
	}
	var spans [maxSpans][2]int
	var found []([2]int)
	if len(p.fields) <= maxSpans {
		found = spans[:len(p.fields)]
	} else {
		found = make([][2]int, len(p.fields))
	}
	size := 2
	for i = skipSpace(raw, i+1); raw[i] != '}'; {
		keyEnd := endOfString(raw, i)
		key := raw[i+1 : keyEnd-1]
		i = skipSpace(raw, keyEnd) + 1 // past the colon
		vs := skipSpace(raw, i)
		ve := endOfValue(raw, vs)
		if k := p.index(key); k >= 0 {
			found[k] = [2]int{vs, ve}
		}
		if i = skipSpace(raw, ve); raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	for k, sp := range found {
		if sp[1] > 0 {
			size += len(p.quoted[k]) + 2 + sp[1] - sp[0]
		}
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	n := 0
	for k, sp := range found {
		if sp[1] == 0 {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		out = append(out, p.quoted[k]...)
		out = append(out, ':')
		out = append(out, raw[sp[0]:sp[1]]...)
	}
	return append(out, '}'), nil
}

// maxSpans is how many fields Apply tracks without allocating.
const maxSpans = 16

// index returns the position of the field whose name is key (a JSON string's raw
// contents), or -1.
func (p *Projection) index(key []byte) int {
	if bytes.IndexByte(key, '\\') >= 0 { // escaped: compare the decoded name
		var name string
		q := make([]byte, 0, len(key)+2)
		q = append(append(append(q, '"'), key...), '"')
		if json.Unmarshal(q, &name) != nil {
			return -1
		}
		key = []byte(name)
	}
	for k, f := range p.fields {
		if string(key) == f {
			return k
		}
	}
	return -1
}

// The walkers below assume valid JSON (Apply checks it first) and stay in bounds anyway.

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return min(i, len(b)-1)
}

// endOfString returns the index just past the string that starts at b[i] (a quote).
func endOfString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// endOfValue returns the index just past the value that starts at b[i].
func endOfValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return endOfString(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = endOfString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for ; i < len(b); i++ {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
	}
	return len(b)
}

// jsonKind names the JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	}
	return "a number"
}
