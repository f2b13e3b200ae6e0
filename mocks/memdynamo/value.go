package memdynamo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// attrType is one of DynamoDB's ten data types.
type attrType uint8

const (
	typeS attrType = iota + 1
	typeN
	typeB
	typeBOOL
	typeNULL
	typeM
	typeL
	typeSS
	typeNS
	typeBS
)

var attrTypeNames = [...]string{
	typeS: "S", typeN: "N", typeB: "B", typeBOOL: "BOOL", typeNULL: "NULL",
	typeM: "M", typeL: "L", typeSS: "SS", typeNS: "NS", typeBS: "BS",
}

func (t attrType) String() string {
	if int(t) < len(attrTypeNames) && t != 0 {
		return attrTypeNames[t]
	}
	return "?"
}

func parseAttrType(s string) (attrType, bool) {
	for t, name := range attrTypeNames {
		if t != 0 && name == s {
			return attrType(t), true
		}
	}
	return 0, false
}

// maxNestingDepth is DynamoDB's limit on nested Maps and Lists.
const maxNestingDepth = 32

// value is one DynamoDB AttributeValue. Values are immutable once built: stored
// items share them with responses and with later items, so nothing may modify
// a value after it has been decoded or constructed.
type value struct {
	t  attrType
	s  string            // S; N in canonical form
	b  []byte            // B
	ok bool              // BOOL
	m  map[string]*value // M
	l  []*value          // L
	ss []string          // SS; NS in canonical form
	bs [][]byte          // BS
}

// number returns the parsed form of an N value.
func (v *value) number() decimal {
	d, err := parseDecimal(v.s)
	if err != nil { // cannot happen: N values are validated when built
		return decimal{}
	}
	return d
}

// isJSONNull reports whether a raw JSON value is the literal null.
func isJSONNull(raw []byte) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

func errEmptyAttributeValue() *apiError {
	return validationf("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
}

// UnmarshalJSON decodes and validates a DynamoDB AttributeValue such as
// {"S":"x"} or {"M":{"a":{"N":"1"}}}. Semantic problems are returned as
// ValidationException *apiError values; JSON syntax and shape problems are left
// as encoding/json errors (reported as SerializationException).
func (v *value) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	switch {
	case len(raw) == 0:
		return errEmptyAttributeValue()
	case len(raw) > 1:
		return validationf("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
	}
	for key, r := range raw {
		t, ok := parseAttrType(key)
		if !ok {
			return validationf("Supplied AttributeValue has an unsupported datatype %q, must contain exactly one of the supported datatypes", key)
		}
		if isJSONNull(r) {
			return errEmptyAttributeValue()
		}
		nv, err := decodeTyped(t, r)
		if err != nil {
			return err
		}
		*v = *nv
	}
	return nil
}

func decodeTyped(t attrType, r json.RawMessage) (*value, error) {
	v := &value{t: t}
	switch t {
	case typeS:
		if err := json.Unmarshal(r, &v.s); err != nil {
			return nil, err
		}
	case typeN:
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, err
		}
		d, err := parseDecimal(s)
		if err != nil {
			return nil, err
		}
		v.s = d.String()
	case typeB:
		if err := json.Unmarshal(r, &v.b); err != nil {
			return nil, err
		}
		if v.b == nil {
			v.b = []byte{}
		}
	case typeBOOL:
		if err := json.Unmarshal(r, &v.ok); err != nil {
			return nil, err
		}
	case typeNULL:
		var isNull bool
		if err := json.Unmarshal(r, &isNull); err != nil {
			return nil, err
		}
		if !isNull {
			return nil, validationf("One or more parameter values were invalid: Null attribute value types must have the value of true")
		}
	case typeM:
		if err := json.Unmarshal(r, &v.m); err != nil {
			return nil, err
		}
		if v.m == nil {
			v.m = map[string]*value{}
		}
		for _, e := range v.m {
			if e == nil {
				return nil, errEmptyAttributeValue()
			}
		}
	case typeL:
		if err := json.Unmarshal(r, &v.l); err != nil {
			return nil, err
		}
		if v.l == nil {
			v.l = []*value{}
		}
		for _, e := range v.l {
			if e == nil {
				return nil, errEmptyAttributeValue()
			}
		}
	case typeSS, typeNS:
		var elems []*string
		if err := json.Unmarshal(r, &elems); err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			kind := "string"
			if t == typeNS {
				kind = "number"
			}
			return nil, validationf("One or more parameter values were invalid: An %s set  may not be empty", kind)
		}
		v.ss = make([]string, 0, len(elems))
		for _, e := range elems {
			if e == nil {
				return nil, validationf("One or more parameter values were invalid: A set may not contain null")
			}
			s := *e
			if t == typeNS {
				d, err := parseDecimal(s)
				if err != nil {
					return nil, err
				}
				s = d.String()
			}
			v.ss = append(v.ss, s)
		}
		if dup := firstDuplicate(v.ss); dup {
			return nil, validationf("One or more parameter values were invalid: Input collection [%s] contains duplicates.", strings.Join(v.ss, ", "))
		}
	case typeBS:
		var elems []*[]byte
		if err := json.Unmarshal(r, &elems); err != nil {
			return nil, err
		}
		if len(elems) == 0 {
			return nil, validationf("One or more parameter values were invalid: Binary sets should not be empty")
		}
		v.bs = make([][]byte, 0, len(elems))
		seen := make([]string, 0, len(elems))
		for _, e := range elems {
			if e == nil {
				return nil, validationf("One or more parameter values were invalid: A set may not contain null")
			}
			b := *e
			if b == nil {
				b = []byte{}
			}
			v.bs = append(v.bs, b)
			seen = append(seen, string(b))
		}
		if firstDuplicate(seen) {
			return nil, validationf("One or more parameter values were invalid: Input collection contains duplicates.")
		}
	}
	return v, nil
}

func firstDuplicate(elems []string) bool {
	seen := make(map[string]struct{}, len(elems))
	for _, e := range elems {
		if _, ok := seen[e]; ok {
			return true
		}
		seen[e] = struct{}{}
	}
	return false
}

// depth returns how many Map/List levels v has (0 for a scalar or a set).
func (v *value) depth() int {
	d := 0
	switch v.t {
	case typeM:
		for _, e := range v.m {
			d = max(d, e.depth())
		}
		return d + 1
	case typeL:
		for _, e := range v.l {
			d = max(d, e.depth())
		}
		return d + 1
	}
	return 0
}

// size returns the bytes DynamoDB counts for v (without the attribute name):
// UTF-8 bytes of strings, raw bytes of binaries, 1 for BOOL and NULL, the sum
// of the elements for sets, and 3 bytes plus 1 byte per element (plus the
// element names in a Map) for Lists and Maps.
func (v *value) size() int {
	switch v.t {
	case typeS:
		return len(v.s)
	case typeN:
		return numberSize(v.s)
	case typeB:
		return len(v.b)
	case typeBOOL, typeNULL:
		return 1
	case typeSS:
		n := 0
		for _, s := range v.ss {
			n += len(s)
		}
		return n
	case typeNS:
		n := 0
		for _, s := range v.ss {
			n += numberSize(s)
		}
		return n
	case typeBS:
		n := 0
		for _, b := range v.bs {
			n += len(b)
		}
		return n
	case typeL:
		n := 3
		for _, e := range v.l {
			n += 1 + e.size()
		}
		return n
	case typeM:
		n := 3
		for k, e := range v.m {
			n += 1 + len(k) + e.size()
		}
		return n
	}
	return 0
}

// itemSize is the size DynamoDB counts against the 400 KB item limit and uses
// for capacity units: the sum of attribute name lengths and value sizes.
func itemSize(item map[string]*value) int {
	n := 0
	for k, v := range item {
		n += len(k) + v.size()
	}
	return n
}

// equal reports whether a and b are the same DynamoDB value. Sets compare as
// sets (order does not matter); numbers compare numerically.
func equal(a, b *value) bool {
	if a == nil || b == nil || a.t != b.t {
		return false
	}
	switch a.t {
	case typeS, typeN:
		return a.s == b.s
	case typeB:
		return bytes.Equal(a.b, b.b)
	case typeBOOL:
		return a.ok == b.ok
	case typeNULL:
		return true
	case typeM:
		if len(a.m) != len(b.m) {
			return false
		}
		for k, av := range a.m {
			if !equal(av, b.m[k]) {
				return false
			}
		}
		return true
	case typeL:
		return slices.EqualFunc(a.l, b.l, equal)
	case typeSS, typeNS:
		return sameSet(a.ss, b.ss)
	case typeBS:
		as, bs := make([]string, len(a.bs)), make([]string, len(b.bs))
		for i, x := range a.bs {
			as[i] = string(x)
		}
		for i, x := range b.bs {
			bs[i] = string(x)
		}
		return sameSet(as, bs)
	}
	return false
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	in := make(map[string]struct{}, len(a))
	for _, x := range a {
		in[x] = struct{}{}
	}
	for _, x := range b {
		if _, ok := in[x]; !ok {
			return false
		}
	}
	return true
}

// MarshalJSON encodes v in DynamoDB's AttributeValue JSON form.
func (v *value) MarshalJSON() ([]byte, error) {
	return v.appendJSON(nil), nil
}

func (v *value) appendJSON(b []byte) []byte {
	b = append(b, `{"`...)
	b = append(b, v.t.String()...)
	b = append(b, `":`...)
	switch v.t {
	case typeS, typeN:
		b = appendJSONString(b, v.s)
	case typeB:
		b = appendBase64(b, v.b)
	case typeBOOL:
		b = strconv.AppendBool(b, v.ok)
	case typeNULL:
		b = append(b, "true"...)
	case typeM:
		b = appendItemJSON(b, v.m)
	case typeL:
		b = append(b, '[')
		for i, e := range v.l {
			if i > 0 {
				b = append(b, ',')
			}
			b = e.appendJSON(b)
		}
		b = append(b, ']')
	case typeSS, typeNS:
		b = append(b, '[')
		for i, s := range v.ss {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		b = append(b, ']')
	case typeBS:
		b = append(b, '[')
		for i, x := range v.bs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendBase64(b, x)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendItemJSON encodes an attribute map with its names in sorted order.
func appendItemJSON(b []byte, m map[string]*value) []byte {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = m[k].appendJSON(b)
	}
	return append(b, '}')
}

func appendBase64(b []byte, x []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, x)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, replacing invalid UTF-8 with
// U+FFFD as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// itemJSON is an attribute map that marshals in DynamoDB form.
type itemJSON map[string]*value

// MarshalJSON encodes the map as a DynamoDB attribute map.
func (m itemJSON) MarshalJSON() ([]byte, error) {
	return appendItemJSON(nil, m), nil
}
