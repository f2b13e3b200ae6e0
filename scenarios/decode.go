package scenarios

import (
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// The decoder walks the YAML syntax tree itself (goccy/go-yaml parses it) instead of
// unmarshalling, so that it can report every unknown key and bad value at once, each at
// its line, and remember where each key was written for Validate.

var (
	durationType = reflect.TypeFor[time.Duration]()
	byteSizeType = reflect.TypeFor[ByteSize]()
	networkType  = reflect.TypeFor[Network]()
	netLinkType  = reflect.TypeFor[NetLink]()
	scenarioType = reflect.TypeFor[Scenario]()
)

// maxDepth bounds the nesting the decoder follows (through aliases too).
const maxDepth = 24

// keySweep is the root key of the sweep, which has no struct field of its own.
const keySweep = "sweep"

type decoder struct {
	src *source
	// fixed, when set, is where every value decoded came from (a --set override or a sweep
	// value), instead of the node's own place.
	fixed   *origin
	errs    []*Error
	anchors map[string]ast.Node
	depth   int
	// composite is whether the value value() last decoded was a mapping or a list; such a
	// value is located at its key rather than at its first entry.
	composite bool
	// dropped counts the problems past maxProblems, which are not reported one by one.
	dropped int
	keys    []string // settableKeys, computed when first needed
}

// maxProblems is the most problems the decoder reports one by one.
const maxProblems = 100

func newDecoder(src *source, fixed *origin) *decoder {
	return &decoder{src: src, fixed: fixed, anchors: map[string]ast.Node{}}
}

// parseYAML parses data into the body of its one document (nil for an empty document).
func parseYAML(data []byte, src *source, fixed *origin) (ast.Node, *Error) {
	f, err := parseBytes(data)
	if err != nil {
		msg, o := err.Error(), origin{}
		if ye, ok := err.(yaml.Error); ok {
			msg = ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				o.line, o.col = tk.Position.Line, tk.Position.Column
			}
		}
		if fixed != nil {
			o = *fixed
		}
		return nil, src.errAt(o, "", "YAML syntax: "+msg, "check the indentation, quotes and brackets around this place")
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if _, ok := doc.Body.(*ast.CommentGroupNode); ok {
			continue
		}
		if body != nil {
			o := nodeOrigin(doc.Body)
			if fixed != nil {
				o = *fixed
			}
			return nil, src.errAt(o, "", "a second YAML document", "one scenario per file: remove the --- line and what follows, or move it to its own file")
		}
		body = doc.Body
	}
	return body, nil
}

// parseBytes runs the YAML parser, turning a panic of the parser into an error: a
// scenario file must never crash the command line.
func parseBytes(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func nodeOrigin(n ast.Node) origin {
	l, c := nodePos(n)
	return origin{line: l, col: c}
}

// nodePos is the line and column where n starts (0, 0 when unknown).
func nodePos(n ast.Node) (int, int) {
	if isNil(n) {
		return 0, 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && m.Values[0] != nil && !isNil(m.Values[0].Key) && !m.IsFlowStyle {
		n = m.Values[0].Key
	}
	if mv, ok := n.(*ast.MappingValueNode); ok && !isNil(mv.Key) {
		n = mv.Key
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return 0, 0
	}
	return tk.Position.Line, tk.Position.Column
}

func (d *decoder) at(n ast.Node) origin {
	if d.fixed != nil {
		return *d.fixed
	}
	return nodeOrigin(n)
}

// fail records a problem with the value of key (at node n) and marks key undecodable.
func (d *decoder) fail(n ast.Node, key, msg, hint string) {
	if key != "" {
		d.src.bad[key] = true
	}
	d.report(d.src.errAt(d.at(n), key, msg, hint))
}

func (d *decoder) report(e *Error) {
	if len(d.errs) >= maxProblems {
		d.dropped++
		return
	}
	d.errs = append(d.errs, e)
}

// problems returns what the decoder found, the ones past maxProblems summed up.
func (d *decoder) problems() []*Error {
	if d.dropped == 0 {
		return d.errs
	}
	return append(d.errs, d.src.errAt(origin{}, "", fmt.Sprintf("and %d more problems", d.dropped), "fix the ones above first"))
}

// collectAnchors records every anchor of the tree, so aliases resolve wherever they are.
func (d *decoder) collectAnchors(n ast.Node, depth int) {
	if isNil(n) || depth > maxDepth {
		return
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		if !isNil(n.Name) && n.Name.GetToken() != nil {
			d.anchors[n.Name.GetToken().Value] = n.Value
		}
		d.collectAnchors(n.Value, depth+1)
	case *ast.TagNode:
		d.collectAnchors(n.Value, depth+1)
	case *ast.MappingNode:
		for _, mv := range n.Values {
			if mv != nil {
				d.collectAnchors(mv.Value, depth+1)
			}
		}
	case *ast.MappingValueNode:
		d.collectAnchors(n.Value, depth+1)
	case *ast.SequenceNode:
		for _, v := range n.Values {
			d.collectAnchors(v, depth+1)
		}
	}
}

// resolve looks through anchors, aliases and tags to the node that holds the value; nil
// (after recording an error) when an alias is unknown.
func (d *decoder) resolve(key string, n ast.Node) ast.Node {
	for range maxDepth {
		if isNil(n) {
			return &ast.NullNode{BaseNode: &ast.BaseNode{}}
		}
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		case *ast.MappingValueNode:
			// A lone "key: value" is a mapping of one entry.
			n = &ast.MappingNode{BaseNode: v.BaseNode, Start: v.Start, Values: []*ast.MappingValueNode{v}}
		case *ast.AliasNode:
			name := ""
			if !isNil(v.Value) && v.Value.GetToken() != nil {
				name = v.Value.GetToken().Value
			}
			target, ok := d.anchors[name]
			if !ok {
				d.fail(n, key, fmt.Sprintf("%s: alias *%s names no anchor", keyName(key), name), "define &"+name+" before using *"+name)
				return nil
			}
			n = target
		default:
			return n
		}
	}
	d.fail(n, key, keyName(key)+": aliases nested too deeply", "write the value out")
	return nil
}

func keyName(key string) string {
	if key == "" {
		return "the scenario"
	}
	return key
}

// join appends a child key to a dotted key.
func join(key, child string) string {
	if key == "" {
		return child
	}
	return key + "." + child
}

// describe names the kind of YAML value n is, for messages.
func describe(n ast.Node) string {
	if isNil(n) {
		return "nothing"
	}
	if tk := n.GetToken(); tk == nil {
		if _, ok := n.(*ast.NullNode); !ok {
			return "a " + n.Type().String()
		}
	}
	switch n := n.(type) {
	case *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return "the boolean " + n.Token.Value
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.StringNode:
		return strconv.Quote(n.Value)
	case *ast.LiteralNode:
		return "a block of text"
	}
	return "a " + n.Type().String()
}

// scalarText is the text of a scalar node: a string's value, a number's or boolean's
// spelling.
func scalarText(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		if n.Value == nil {
			return "", true
		}
		// A block scalar ends with a line break (unless stripped with |- or >-): a folded
		// one-line text is still one line.
		return strings.TrimRight(n.Value.Value, "\n"), true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		if tk := n.GetToken(); tk != nil {
			return tk.Value, true
		}
	}
	return "", false
}

func isQuoted(n ast.Node) bool {
	s, ok := n.(*ast.StringNode)
	return ok && s.Token != nil && (s.Token.Type == token.SingleQuoteType || s.Token.Type == token.DoubleQuoteType)
}

// fieldKey is the key of a struct field: its yaml name, else its json name ("-" = none).
func fieldKey(f reflect.StructField) string {
	if !f.IsExported() {
		return "-"
	}
	if tag, ok := f.Tag.Lookup("yaml"); ok {
		name, _, _ := strings.Cut(tag, ",")
		if name != "" {
			return name
		}
	}
	if tag, ok := f.Tag.Lookup("json"); ok {
		name, _, _ := strings.Cut(tag, ",")
		if name != "" {
			return name
		}
	}
	return strings.ToLower(f.Name)
}

// structKeys lists the keys of struct type t in field order.
func structKeys(t reflect.Type) []string {
	var keys []string
	for f := range t.Fields() {
		if k := fieldKey(f); k != "-" {
			keys = append(keys, k)
		}
	}
	if t == scenarioType {
		keys = append(keys, keySweep)
	}
	return keys
}

// fieldByKey returns the field of struct v with key k.
func fieldByKey(v reflect.Value, k string) (reflect.Value, bool) {
	t := v.Type()
	for i := range t.NumField() {
		if fieldKey(t.Field(i)) == k {
			return v.Field(i), true
		}
	}
	return reflect.Value{}, false
}

// value decodes node n into v, the field of key.
func (d *decoder) value(key string, n ast.Node, v reflect.Value) {
	d.depth++
	defer func() { d.depth-- }()
	if d.depth > maxDepth {
		d.fail(n, key, keyName(key)+" is nested too deeply", "")
		return
	}
	if n = d.resolve(key, n); n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		d.fail(n, key, keyName(key)+" has no value", "give it a value, or remove the key to keep its default")
		return
	}
	if key != "" {
		d.src.origins[key] = d.at(n)
		delete(d.src.bad, key)
	}
	composite := false
	switch n.(type) {
	case *ast.MappingNode, *ast.SequenceNode:
		composite = true
	}
	defer func() { d.composite = composite }()
	switch v.Type() {
	case durationType:
		d.duration(key, n, v)
		return
	case byteSizeType:
		d.byteSize(key, n, v)
		return
	case networkType:
		d.network(key, n, v.Addr().Interface().(*Network))
		return
	case netLinkType:
		d.netLink(key, n, v.Addr().Interface().(*NetLink))
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(key, n, v)
	case reflect.String:
		d.str(key, n, v)
	case reflect.Bool:
		d.boolean(key, n, v)
	case reflect.Int, reflect.Int64:
		d.integer(key, n, v)
	case reflect.Float64:
		d.float(key, n, v)
	case reflect.Slice:
		d.list(key, n, v)
	case reflect.Map:
		d.dict(key, n, v)
	default:
		d.fail(n, key, keyName(key)+" cannot be set", "")
	}
}

// mapKey returns the text of a mapping key, or records why it is not a plain name.
func (d *decoder) mapKey(key string, mv *ast.MappingValueNode) (string, bool) {
	if mv == nil || isNil(mv.Key) {
		return "", false
	}
	k := ast.Node(mv.Key)
	if mk, ok := k.(*ast.MappingKeyNode); ok {
		k = mk.Value
	}
	if isNil(k) {
		return "", false
	}
	if _, ok := k.(*ast.MergeKeyNode); ok {
		d.fail(mv.Key, key, "merge keys (<<) are not supported", "write the keys out")
		return "", false
	}
	text, ok := scalarText(k)
	if !ok {
		d.fail(mv.Key, key, fmt.Sprintf("a key of %s is %s, not a name", keyName(key), describe(k)), "keys are plain names such as ttl")
		return "", false
	}
	return text, true
}

func (d *decoder) needMapping(key string, n ast.Node, hint string) (*ast.MappingNode, bool) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if hint == "" {
			hint = "write its keys indented below it, or as {key: value, ...}"
		}
		d.fail(n, key, fmt.Sprintf("%s must be a mapping, not %s", keyName(key), describe(n)), hint)
	}
	return m, ok
}

// mapping decodes a mapping into struct v: known keys into their fields (fields not
// named keep their values), unknown keys are errors.
func (d *decoder) mapping(key string, n ast.Node, v reflect.Value) {
	m, ok := d.needMapping(key, n, "")
	if !ok {
		return
	}
	for _, mv := range m.Values {
		k, ok := d.mapKey(key, mv)
		if !ok {
			continue
		}
		child := join(key, k)
		if v.Type() == scenarioType && k == keySweep {
			d.sweep(child, mv.Value, v.Addr().Interface().(*Scenario))
			if d.src.has(child) {
				d.src.origins[child] = d.at(mv.Key)
			}
			continue
		}
		f, ok := fieldByKey(v, k)
		if !ok {
			d.unknownKey(key, k, mv.Key, structKeys(v.Type()))
			continue
		}
		d.value(child, mv.Value, f)
		d.keyPlace(child, mv)
	}
}

// keyPlace locates a mapping or list value at its key, after value() decoded it.
func (d *decoder) keyPlace(child string, mv *ast.MappingValueNode) {
	if d.composite && d.src.has(child) {
		d.src.origins[child] = d.at(mv.Key)
	}
}

// unknownKey reports key k unknown inside key, suggesting its neighbours or the same name
// elsewhere in the scenario.
func (d *decoder) unknownKey(key, k string, at ast.Node, siblings []string) {
	if d.keys == nil {
		d.keys = settableKeys()
	}
	var elsewhere []string
	for _, full := range d.keys {
		if (strings.HasSuffix(full, "."+k) || full == k) && parent(full) != key {
			elsewhere = append(elsewhere, full)
		}
	}
	hint := didYouMean(suggest(k, siblings))
	if len(elsewhere) > 0 && len(elsewhere) <= 3 {
		parents := make([]string, len(elsewhere))
		for i, full := range elsewhere {
			parents[i] = keyName(parent(full))
		}
		where := fmt.Sprintf("%s belongs in %s", k, oneOf(parents))
		if len(elsewhere) == 1 {
			where += " (" + elsewhere[0] + ")"
		}
		if hint == "" {
			hint = where
		} else {
			hint = where + "; or " + hint
		}
	}
	if hint == "" {
		hint = "the keys of " + keyName(key) + " are " + oneOf(siblings)
	}
	d.report(d.src.errAt(d.at(at), join(key, k), fmt.Sprintf("unknown key %q in %s", k, keyName(key)), hint))
}

func (d *decoder) str(key string, n ast.Node, v reflect.Value) {
	s, ok := scalarText(n)
	if !ok {
		d.fail(n, key, fmt.Sprintf("%s must be a string, not %s", keyName(key), describe(n)), "write it on one line after the colon")
		return
	}
	v.SetString(s)
}

func (d *decoder) boolean(key string, n ast.Node, v reflect.Value) {
	if b, ok := n.(*ast.BoolNode); ok {
		v.SetBool(b.Value)
		return
	}
	hint := "write true or false"
	if s, ok := scalarText(n); ok {
		switch strings.ToLower(s) {
		case "yes", "y", "on", "1", "enabled", "enable":
			hint = "write true"
		case "no", "n", "off", "0", "disabled", "disable":
			hint = "write false"
		}
	}
	d.fail(n, key, fmt.Sprintf("%s must be true or false, not %s", keyName(key), describe(n)), hint)
}

// number returns the numeric value of n: a YAML number, or an unquoted string that reads
// as one (1e6, 100_000).
func number(n ast.Node) (float64, string, bool) {
	switch n := n.(type) {
	case *ast.IntegerNode:
		switch x := n.Value.(type) {
		case int64:
			return float64(x), n.Token.Value, true
		case uint64:
			return float64(x), n.Token.Value, true
		}
	case *ast.FloatNode:
		return n.Value, n.Token.Value, true
	case *ast.StringNode:
		if isQuoted(n) {
			return 0, "", false
		}
		s := n.Value
		if i, err := strconv.ParseInt(s, 0, 64); err == nil {
			return float64(i), s, true
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !strings.ContainsAny(s, "xXpP") {
			return f, s, true
		}
	}
	return 0, "", false
}

var leadingNumber = regexp.MustCompile(`^\s*([-+]?[0-9][0-9_.]*)\s*(.*)$`)

func (d *decoder) numberHint(n ast.Node, whole bool) string {
	if isQuoted(n) {
		if _, _, ok := number(&ast.StringNode{Value: n.(*ast.StringNode).Value}); ok {
			return "remove the quotes"
		}
	}
	s, _ := scalarText(n)
	if m := leadingNumber.FindStringSubmatch(s); m != nil {
		switch strings.ToLower(m[2]) {
		case "%":
			return "write the fraction: " + percentAsFraction(m[1])
		case "k":
			return "write the full number: " + m[1] + "000"
		case "m":
			return "write the full number: " + m[1] + "000000"
		case "/s", "rps", "req/s", "per second":
			return "write the number alone: " + m[1] + " (rates are per second)"
		}
		if m[2] != "" {
			return "write the number alone, without \"" + m[2] + "\""
		}
	}
	if whole {
		return "write a whole number such as 100"
	}
	return "write a number such as 0.5 or 100"
}

func percentAsFraction(s string) string {
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
	if err != nil {
		return s + "/100"
	}
	return strconv.FormatFloat(f/100, 'g', -1, 64)
}

func (d *decoder) integer(key string, n ast.Node, v reflect.Value) {
	f, text, ok := number(n)
	if !ok {
		d.fail(n, key, fmt.Sprintf("%s must be a whole number, not %s", keyName(key), describe(n)), d.numberHint(n, true))
		return
	}
	var i int64
	if in, isInt := n.(*ast.IntegerNode); isInt {
		switch x := in.Value.(type) {
		case int64:
			i = x
		case uint64:
			if x > math.MaxInt64 {
				d.fail(n, key, fmt.Sprintf("%s: %s is too large", keyName(key), text), "")
				return
			}
			i = int64(x)
		}
	} else if x, err := strconv.ParseInt(text, 0, 64); err == nil {
		i = x
	} else {
		if f != math.Trunc(f) || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(n, key, fmt.Sprintf("%s must be a whole number, not %s", keyName(key), text), "write a whole number such as 100")
			return
		}
		if f >= 1<<63 || f < -(1<<63) {
			d.fail(n, key, fmt.Sprintf("%s: %s is too large", keyName(key), text), "")
			return
		}
		i = int64(f)
	}
	if v.OverflowInt(i) {
		d.fail(n, key, fmt.Sprintf("%s: %s is too large", keyName(key), text), "")
		return
	}
	v.SetInt(i)
}

func (d *decoder) float(key string, n ast.Node, v reflect.Value) {
	switch n.(type) {
	case *ast.InfinityNode, *ast.NanNode:
		d.fail(n, key, fmt.Sprintf("%s must be a finite number, not %s", keyName(key), describe(n)), "write a number such as 0.5 or 100")
		return
	}
	f, _, ok := number(n)
	if !ok || math.IsInf(f, 0) || math.IsNaN(f) {
		d.fail(n, key, fmt.Sprintf("%s must be a number, not %s", keyName(key), describe(n)), d.numberHint(n, false))
		return
	}
	v.SetFloat(f)
}

func (d *decoder) duration(key string, n ast.Node, v reflect.Value) {
	if f, text, ok := number(n); ok && !isQuoted(n) {
		if f == 0 {
			v.SetInt(0)
			return
		}
		d.fail(n, key, fmt.Sprintf("%s: the duration %s has no unit", keyName(key), text), "write "+text+"s for seconds, or "+text+"ms for milliseconds")
		return
	}
	s, ok := scalarText(n)
	if _, isStr := n.(*ast.StringNode); !ok || !isStr {
		d.fail(n, key, fmt.Sprintf("%s must be a duration, not %s", keyName(key), describe(n)), "write a duration such as 500ms, 30s, 5m or 24h")
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.fail(n, key, fmt.Sprintf("%s: %q is not a duration", keyName(key), s), durationHint(s))
		return
	}
	v.SetInt(int64(dur))
}

var durationWords = regexp.MustCompile(`^([-+]?[0-9]*\.?[0-9]+)\s*([A-Za-zµ]+)$`)

// durationHint suggests how to write s as a Go duration.
func durationHint(s string) string {
	const generic = "write a duration such as 500ms, 30s, 5m or 24h (units ns, us, ms, s, m, h)"
	m := durationWords.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return generic
	}
	num, word := m[1], strings.ToLower(m[2])
	unit := ""
	switch word {
	case "ns", "nsec", "nanosecond", "nanoseconds":
		unit = "ns"
	case "us", "µs", "usec", "microsecond", "microseconds":
		unit = "us"
	case "ms", "msec", "msecs", "millis", "millisecond", "milliseconds":
		unit = "ms"
	case "s", "sec", "secs", "second", "seconds":
		unit = "s"
	case "m", "min", "mins", "minute", "minutes":
		unit = "m"
	case "h", "hr", "hrs", "hour", "hours":
		unit = "h"
	case "d", "day", "days":
		if f, err := strconv.ParseFloat(num, 64); err == nil {
			return "write " + strconv.FormatFloat(f*24, 'f', -1, 64) + "h (durations have no day unit)"
		}
	}
	if unit == "" {
		return generic
	}
	return "write " + num + unit
}

func (d *decoder) byteSize(key string, n ast.Node, v reflect.Value) {
	s, _ := scalarText(n)
	switch n.(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode:
	default:
		d.fail(n, key, fmt.Sprintf("%s must be a size, not %s", keyName(key), describe(n)), "write a size such as 512KiB, 64MiB or 100MB")
		return
	}
	b, err := ParseByteSize(s)
	if err != nil {
		d.fail(n, key, fmt.Sprintf("%s: %v", keyName(key), err), byteSizeHint(s))
		return
	}
	v.SetInt(int64(b))
}

// restart forgets what was known about the keys under key, whose value is being replaced
// as a whole, keeping key's own origin.
func (d *decoder) restart(key string) {
	o, ok := d.src.origins[key]
	d.src.forget(key)
	if ok {
		d.src.origins[key] = o
	}
}

// list decodes a YAML sequence into slice v, replacing what it held.
func (d *decoder) list(key string, n ast.Node, v reflect.Value) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		hint := "write the items one per line starting with \"- \", or as [a, b]"
		if s, isStr := scalarText(n); isStr {
			hint = fmt.Sprintf("a list of one is written [%s]", yamlQuote(s))
		}
		d.fail(n, key, fmt.Sprintf("%s must be a list, not %s", keyName(key), describe(n)), hint)
		return
	}
	d.restart(key)
	if len(seq.Values) == 0 {
		v.SetZero()
		return
	}
	out := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
	for i, item := range seq.Values {
		d.value(fmt.Sprintf("%s[%d]", key, i), item, out.Index(i))
	}
	v.Set(out)
}

// dict decodes a YAML mapping into map v (string keys), replacing what it held.
func (d *decoder) dict(key string, n ast.Node, v reflect.Value) {
	m, ok := d.needMapping(key, n, "")
	if !ok {
		return
	}
	d.restart(key)
	out := reflect.MakeMapWithSize(v.Type(), len(m.Values))
	for _, mv := range m.Values {
		k, ok := d.mapKey(key, mv)
		if !ok {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(join(key, k), mv.Value, elem)
		out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), elem)
	}
	if out.Len() == 0 {
		v.SetZero()
		return
	}
	v.Set(out)
}

// sweep decodes the sweep: an ordered mapping of dotted key to a list of plain values.
func (d *decoder) sweep(key string, n ast.Node, s *Scenario) {
	if n = d.resolve(key, n); n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		d.fail(n, key, "sweep has no value", "give it keys with lists of values, such as {cache.l1.ttl: [10s, 60s]}, or remove it")
		return
	}
	d.src.forget(key)
	d.src.origins[key] = d.at(n)
	m, ok := d.needMapping(key, n, "write each key to sweep with its values, such as {cache.l1.ttl: [10s, 60s]}")
	if !ok {
		return
	}
	s.Sweep = nil
	for _, mv := range m.Values {
		k, ok := d.mapKey(key, mv)
		if !ok {
			continue
		}
		axisKey := key + "." + k
		d.src.origins[axisKey] = d.at(mv.Key)
		vals := d.resolve(axisKey, mv.Value)
		if vals == nil {
			continue
		}
		seq, ok := vals.(*ast.SequenceNode)
		if !ok {
			hint := "write its values as a list, such as [10s, 60s]"
			if t, isScalar := scalarText(vals); isScalar {
				hint = fmt.Sprintf("write its values as a list, such as [%s, ...]", yamlQuote(t))
			}
			d.fail(vals, axisKey, fmt.Sprintf("sweep %s must be a list of values, not %s", k, describe(vals)), hint)
			continue
		}
		axis := SweepAxis{Key: k}
		for i, item := range seq.Values {
			ik := fmt.Sprintf("%s[%d]", axisKey, i)
			item = d.resolve(ik, item)
			if item == nil {
				continue
			}
			text, ok := scalarText(item)
			if _, isNull := item.(*ast.NullNode); isNull || !ok {
				d.fail(item, ik, fmt.Sprintf("sweep %s: value %d is %s, not a plain value", k, i+1, describe(item)), "sweep values are plain values such as 10s, 512 or lru")
				continue
			}
			d.src.origins[ik] = d.at(item)
			axis.Values = append(axis.Values, text)
		}
		s.Sweep = append(s.Sweep, axis)
	}
}

// network decodes `network:`: a profile name (see Network for how it spreads over the
// services) or a mapping of service to profile or custom figures.
func (d *decoder) network(key string, n ast.Node, net *Network) {
	if name, ok := scalarText(n); ok {
		if _, isStr := n.(*ast.StringNode); !isStr {
			d.fail(n, key, fmt.Sprintf("%s must be a profile name or a mapping, not %s", keyName(key), describe(n)), "write one of "+oneOf(Profiles()))
			return
		}
		if name == ProfileCustom {
			d.fail(n, key, keyName(key)+": the custom profile needs figures", "write them per service, such as {redis: {latency: 1ms, jitter: 200us}}")
			return
		}
		if !slices.Contains(Profiles(), name) {
			d.fail(n, key, fmt.Sprintf("%s: unknown network profile %q", keyName(key), name), profileHint(name))
			return
		}
		d.restart(key)
		*net = NetworkFor(name)
		return
	}
	m, ok := d.needMapping(key, n, "write a profile name, such as aws-same-az, or a mapping of service to profile, such as {redis: aws-cross-az}")
	if !ok {
		return
	}
	v := reflect.ValueOf(net).Elem()
	for _, mv := range m.Values {
		k, ok := d.mapKey(key, mv)
		if !ok {
			continue
		}
		f, ok := fieldByKey(v, k)
		if !ok {
			d.unknownKey(key, k, mv.Key, structKeys(networkType))
			continue
		}
		d.value(join(key, k), mv.Value, f)
		d.keyPlace(join(key, k), mv)
	}
}

// netLink decodes one service's network: a profile name, or custom figures
// {latency, jitter, bandwidth} (optionally with profile: custom).
func (d *decoder) netLink(key string, n ast.Node, link *NetLink) {
	if name, ok := scalarText(n); ok {
		if _, isStr := n.(*ast.StringNode); !isStr {
			d.fail(n, key, fmt.Sprintf("%s must be a profile name or custom figures, not %s", keyName(key), describe(n)), "write one of "+oneOf(Profiles())+", or {latency: 1ms, jitter: 200us, bandwidth: 100MB}")
			return
		}
		d.restart(key)
		*link = NetLink{Profile: name}
		return
	}
	if _, ok := d.needMapping(key, n, "write a profile name, or custom figures such as {latency: 1ms, jitter: 200us}"); !ok {
		return
	}
	d.restart(key)
	var fresh NetLink
	d.mapping(key, n, reflect.ValueOf(&fresh).Elem())
	if fresh.Profile == "" {
		fresh.Profile = ProfileCustom
	}
	*link = fresh
}

// yamlQuote writes s as a YAML flow scalar, quoted when it must be.
func yamlQuote(s string) string {
	if s == "" || strings.ContainsAny(s, ":#,[]{}&*!|>'\"%@`\n") || strings.TrimSpace(s) != s {
		return strconv.Quote(s)
	}
	return s
}

// reflectValue is the settable value p points to.
func reflectValue(p any) reflect.Value { return reflect.ValueOf(p).Elem() }

// isNil reports whether n is nil or holds a nil pointer.
func isNil(n ast.Node) bool {
	if n == nil {
		return true
	}
	v := reflect.ValueOf(n)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
