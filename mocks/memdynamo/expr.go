package memdynamo

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// exprKind names the request parameter an expression came from; DynamoDB puts
// it at the start of every expression error ("Invalid ConditionExpression: ...").
type exprKind string

const (
	kindCondition  exprKind = "ConditionExpression"
	kindProjection exprKind = "ProjectionExpression"
)

// Limits DynamoDB documents for expressions.
const (
	maxExpressionBytes = 4096
	maxExpressionOps   = 300
	maxInOperands      = 100
	maxPathDepth       = 32
	maxListIndex       = 1 << 20
)

// exprContext carries a request's ExpressionAttributeNames and
// ExpressionAttributeValues across all of its expressions, and records which
// were used so that unused ones can be rejected as DynamoDB does.
type exprContext struct {
	names      map[string]string
	values     map[string]*value
	usedNames  map[string]bool
	usedValues map[string]bool
}

// newExprContext validates the placeholder maps of a request. hasExpression
// says whether the request carries any expression at all: DynamoDB rejects the
// maps otherwise.
func newExprContext(names map[string]string, values map[string]*value, hasExpression bool) (*exprContext, error) {
	if names != nil {
		if !hasExpression {
			return nil, validationf("ExpressionAttributeNames can only be specified when using expressions")
		}
		if len(names) == 0 {
			return nil, validationf("ExpressionAttributeNames must not be empty")
		}
		for k, v := range names {
			if len(k) < 2 || k[0] != '#' || !isNameChars(k[1:]) {
				return nil, validationf("ExpressionAttributeNames contains invalid key: Syntax error; key: %q", k)
			}
			if v == "" {
				return nil, validationf("ExpressionAttributeNames contains invalid value: Empty attribute name for key %s", k)
			}
		}
	}
	if values != nil {
		if !hasExpression {
			return nil, validationf("ExpressionAttributeValues can only be specified when using expressions")
		}
		if len(values) == 0 {
			return nil, validationf("ExpressionAttributeValues must not be empty")
		}
		for k, v := range values {
			if len(k) < 2 || k[0] != ':' || !isNameChars(k[1:]) {
				return nil, validationf("ExpressionAttributeValues contains invalid key: Syntax error; key: %q", k)
			}
			if v == nil {
				return nil, validationf("ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key %s", k)
			}
			if v.depth() > maxNestingDepth {
				return nil, validationf("Nesting Levels have exceeded supported limits")
			}
		}
	}
	return &exprContext{names: names, values: values, usedNames: map[string]bool{}, usedValues: map[string]bool{}}, nil
}

// checkUnused fails if a placeholder was supplied but no expression used it.
func (c *exprContext) checkUnused() error {
	if unused := unusedKeys(c.names, c.usedNames); unused != "" {
		return validationf("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", unused)
	}
	if unused := unusedKeys(c.values, c.usedValues); unused != "" {
		return validationf("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", unused)
	}
	return nil
}

func unusedKeys[V any](m map[string]V, used map[string]bool) string {
	var out []string
	for k := range m {
		if !used[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func isNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i]) {
			return false
		}
	}
	return s != ""
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdentChar(c byte) bool { return isIdentStart(c) || (c >= '0' && c <= '9') }

// ---- tokens ----

type tokKind uint8

const (
	tokEOF    tokKind = iota
	tokIdent          // a bare name, keyword or function name
	tokName           // #placeholder
	tokValue          // :placeholder
	tokNumber         // a list index
	tokPunct          // ( ) [ ] , . = <> < <= > >=
)

type token struct {
	kind tokKind
	text string
	pos  int
}

func (t token) String() string {
	if t.kind == tokEOF {
		return "<EOF>"
	}
	return t.text
}

// tokenize splits an expression into tokens. On an unexpected character it
// returns the tokens so far and the offending position.
func tokenize(src string) ([]token, int, bool) {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, src[i:j], i})
			i = j
		case c == '#' || c == ':':
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			if j == i+1 {
				return toks, i, false
			}
			kind := tokName
			if c == ':' {
				kind = tokValue
			}
			toks = append(toks, token{kind, src[i:j], i})
			i = j
		case c >= '0' && c <= '9':
			j := i + 1
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j], i})
			i = j
		case c == '<' || c == '>':
			j := i + 1
			if j < len(src) && (src[j] == '=' || (c == '<' && src[j] == '>')) {
				j++
			}
			toks = append(toks, token{tokPunct, src[i:j], i})
			i = j
		case strings.IndexByte("()[],.=", c) >= 0:
			toks = append(toks, token{tokPunct, src[i : i+1], i})
			i++
		default:
			return toks, i, false
		}
	}
	return append(toks, token{kind: tokEOF, pos: len(src)}), 0, true
}

// ---- document paths ----

type pathElem struct {
	name    string
	index   int
	isIndex bool
}

// docPath is an attribute path such as a.b[2].c; the first element is always
// a name.
type docPath []pathElem

func (p docPath) String() string {
	parts := make([]string, len(p))
	for i, e := range p {
		if e.isIndex {
			parts[i] = "[" + strconv.Itoa(e.index) + "]"
		} else {
			parts[i] = e.name
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// resolvePath returns the value at p in item, or nil if there is none.
func resolvePath(item map[string]*value, p docPath) *value {
	if len(p) == 0 {
		return nil
	}
	v := item[p[0].name]
	for _, e := range p[1:] {
		switch {
		case v == nil:
			return nil
		case e.isIndex:
			if v.t != typeL || e.index >= len(v.l) {
				return nil
			}
			v = v.l[e.index]
		default:
			if v.t != typeM {
				return nil
			}
			v = v.m[e.name]
		}
	}
	return v
}

// checkOverlaps rejects path lists where one path is a prefix of another
// (overlap) or two paths disagree on whether an element is a name or an index
// (conflict), as DynamoDB does for projections.
func checkOverlaps(kind exprKind, paths []docPath) error {
	for i := range paths {
		for j := i + 1; j < len(paths); j++ {
			a, b := paths[i], paths[j]
			n := min(len(a), len(b))
			k := 0
			for k < n && a[k] == b[k] {
				k++
			}
			switch {
			case k == n:
				return validationf("Invalid %s: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", kind, a, b)
			case a[k].isIndex != b[k].isIndex:
				return validationf("Invalid %s: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: %s, path two: %s", kind, a, b)
			}
		}
	}
	return nil
}

// ---- parser ----

type exprParser struct {
	kind exprKind
	src  string
	toks []token
	pos  int
	ctx  *exprContext
	ops  int
}

func newExprParser(kind exprKind, src string, ctx *exprContext) (*exprParser, error) {
	p := &exprParser{kind: kind, src: src, ctx: ctx}
	if strings.TrimSpace(src) == "" {
		return nil, p.errorf("The expression can not be empty;")
	}
	if len(src) > maxExpressionBytes {
		return nil, p.errorf("Expression size has exceeded the maximum allowed size; expression size: %d", len(src))
	}
	toks, bad, ok := tokenize(src)
	if !ok {
		_, size := utf8.DecodeRuneInString(src[bad:])
		return nil, p.errorf("Syntax error; token: %q, near: %q", src[bad:bad+size], nearText(src, bad, bad+size))
	}
	p.toks = toks
	return p, nil
}

// nearText returns the source around [start, end) for syntax errors.
func nearText(src string, start, end int) string {
	lo, hi := max(start-10, 0), min(end+10, len(src))
	return strings.TrimSpace(src[lo:hi])
}

func (p *exprParser) errorf(format string, args ...any) *apiError {
	return validationf("Invalid %s: %s", p.kind, fmt.Sprintf(format, args...))
}

func (p *exprParser) syntaxError(t token) *apiError {
	end := t.pos + len(t.text)
	return p.errorf("Syntax error; token: %q, near: %q", t.String(), nearText(p.src, t.pos, end))
}

func (p *exprParser) peek() token { return p.toks[p.pos] }

func (p *exprParser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *exprParser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *exprParser) isPunct(t token, s string) bool { return t.kind == tokPunct && t.text == s }

func (p *exprParser) isKeyword(t token, kw string) bool {
	return t.kind == tokIdent && strings.EqualFold(t.text, kw)
}

func (p *exprParser) expectPunct(s string) error {
	if t := p.next(); !p.isPunct(t, s) {
		return p.syntaxError(t)
	}
	return nil
}

func (p *exprParser) expectEOF() error {
	if t := p.peek(); t.kind != tokEOF {
		return p.syntaxError(t)
	}
	return nil
}

func (p *exprParser) countOp() error {
	p.ops++
	if p.ops > maxExpressionOps {
		return p.errorf("The expression contains too many operators; the maximum number of operators and functions is %d", maxExpressionOps)
	}
	return nil
}

// isFuncCall reports whether the next tokens are a name followed by "(".
func (p *exprParser) isFuncCall() bool {
	return p.peek().kind == tokIdent && p.isPunct(p.peekAt(1), "(")
}

// pathName turns a name token of a document path into an attribute name.
func (p *exprParser) pathName(t token) (string, error) {
	switch t.kind {
	case tokIdent:
		if isReservedWord(t.text) {
			return "", p.errorf("Attribute name is a reserved keyword; reserved keyword: %s", t.text)
		}
		return t.text, nil
	case tokName:
		name, ok := p.ctx.names[t.text]
		if !ok {
			return "", p.errorf("An expression attribute name used in the document path is not defined; attribute name: %s", t.text)
		}
		p.ctx.usedNames[t.text] = true
		return name, nil
	}
	return "", p.syntaxError(t)
}

func (p *exprParser) parsePath() (docPath, error) {
	name, err := p.pathName(p.next())
	if err != nil {
		return nil, err
	}
	path := docPath{{name: name}}
	for {
		var e pathElem
		switch t := p.peek(); {
		case p.isPunct(t, "."):
			p.pos++
			name, err := p.pathName(p.next())
			if err != nil {
				return nil, err
			}
			e = pathElem{name: name}
		case p.isPunct(t, "["):
			p.pos++
			nt := p.next()
			if nt.kind != tokNumber {
				return nil, p.syntaxError(nt)
			}
			n, err := strconv.Atoi(nt.text)
			if err != nil || n > maxListIndex {
				return nil, p.errorf("List index is too large; index: %s", nt.text)
			}
			if err := p.expectPunct("]"); err != nil {
				return nil, err
			}
			e = pathElem{index: n, isIndex: true}
		default:
			return path, nil
		}
		path = append(path, e)
		if len(path) > maxPathDepth {
			return nil, p.errorf("The document path has too many nesting levels; nesting levels: %d", len(path))
		}
	}
}

func (p *exprParser) valueRef(t token) (*value, error) {
	v, ok := p.ctx.values[t.text]
	if !ok {
		return nil, p.errorf("An expression attribute value used in expression is not defined; attribute value: %s", t.text)
	}
	p.ctx.usedValues[t.text] = true
	return v, nil
}

// ---- conditions ----

// cond is a parsed condition, evaluated against an item (an empty map when
// the item does not exist).
type cond interface {
	eval(item map[string]*value) bool
}

// operand is a value in a condition: a document path, a :placeholder, or
// size(path). resolve returns nil when there is no value.
type operand interface {
	resolve(item map[string]*value) *value
}

type pathOperand struct{ path docPath }

func (o pathOperand) resolve(item map[string]*value) *value { return resolvePath(item, o.path) }

type valueOperand struct{ v *value }

func (o valueOperand) resolve(map[string]*value) *value { return o.v }

type sizeOperand struct{ path docPath }

func (o sizeOperand) resolve(item map[string]*value) *value {
	v := resolvePath(item, o.path)
	if v == nil {
		return nil
	}
	var n int
	switch v.t {
	case typeS:
		n = len(v.s)
	case typeB:
		n = len(v.b)
	case typeSS, typeNS:
		n = len(v.ss)
	case typeBS:
		n = len(v.bs)
	case typeL:
		n = len(v.l)
	case typeM:
		n = len(v.m)
	default:
		return nil
	}
	return &value{t: typeN, s: strconv.Itoa(n)}
}

type andCond struct{ l, r cond }

func (c andCond) eval(item map[string]*value) bool { return c.l.eval(item) && c.r.eval(item) }

type orCond struct{ l, r cond }

func (c orCond) eval(item map[string]*value) bool { return c.l.eval(item) || c.r.eval(item) }

type notCond struct{ c cond }

func (c notCond) eval(item map[string]*value) bool { return !c.c.eval(item) }

type cmpCond struct {
	op   string
	l, r operand
}

func (c cmpCond) eval(item map[string]*value) bool {
	a, b := c.l.resolve(item), c.r.resolve(item)
	switch c.op {
	case "=":
		return equal(a, b)
	case "<>":
		if a == nil && b == nil {
			return false
		}
		return !equal(a, b)
	}
	r, ok := compareScalars(a, b)
	if !ok {
		return false
	}
	switch c.op {
	case "<":
		return r < 0
	case "<=":
		return r <= 0
	case ">":
		return r > 0
	default: // ">="
		return r >= 0
	}
}

// compareScalars orders two values of the same scalar type: numbers
// numerically, strings and binaries bytewise. ok is false when they are not
// comparable, which makes any ordering comparison false, as in DynamoDB.
func compareScalars(a, b *value) (r int, ok bool) {
	if a == nil || b == nil || a.t != b.t {
		return 0, false
	}
	switch a.t {
	case typeN:
		return a.number().compare(b.number()), true
	case typeS:
		return strings.Compare(a.s, b.s), true
	case typeB:
		return bytes.Compare(a.b, b.b), true
	}
	return 0, false
}

type betweenCond struct{ v, lo, hi operand }

func (c betweenCond) eval(item map[string]*value) bool {
	v := c.v.resolve(item)
	lo, ok1 := compareScalars(v, c.lo.resolve(item))
	hi, ok2 := compareScalars(v, c.hi.resolve(item))
	return ok1 && ok2 && lo >= 0 && hi <= 0
}

type inCond struct {
	v    operand
	list []operand
}

func (c inCond) eval(item map[string]*value) bool {
	v := c.v.resolve(item)
	if v == nil {
		return false
	}
	for _, o := range c.list {
		if equal(v, o.resolve(item)) {
			return true
		}
	}
	return false
}

type funcCond struct {
	name string
	args []operand
}

func (c funcCond) eval(item map[string]*value) bool {
	a := c.args[0].resolve(item)
	switch c.name {
	case "attribute_exists":
		return a != nil
	case "attribute_not_exists":
		return a == nil
	}
	b := c.args[1].resolve(item)
	if a == nil || b == nil {
		return false
	}
	switch c.name {
	case "attribute_type":
		return b.t == typeS && a.t.String() == b.s
	case "begins_with":
		switch {
		case a.t == typeS && b.t == typeS:
			return strings.HasPrefix(a.s, b.s)
		case a.t == typeB && b.t == typeB:
			return bytes.HasPrefix(a.b, b.b)
		}
		return false
	default: // contains
		switch {
		case a.t == typeS && b.t == typeS:
			return strings.Contains(a.s, b.s)
		case a.t == typeB && b.t == typeB:
			return bytes.Contains(a.b, b.b)
		case (a.t == typeSS && b.t == typeS) || (a.t == typeNS && b.t == typeN):
			return slices.Contains(a.ss, b.s)
		case a.t == typeBS && b.t == typeB:
			return slices.ContainsFunc(a.bs, func(x []byte) bool { return bytes.Equal(x, b.b) })
		case a.t == typeL:
			return slices.ContainsFunc(a.l, func(x *value) bool { return equal(x, b) })
		}
		return false
	}
}

// parseCondition parses a ConditionExpression.
func parseCondition(src string, ctx *exprContext) (cond, error) {
	p, err := newExprParser(kindCondition, src, ctx)
	if err != nil {
		return nil, err
	}
	c, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if err := p.expectEOF(); err != nil {
		return nil, err
	}
	return c, nil
}

func (p *exprParser) parseOr() (cond, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(p.peek(), "OR") {
		p.pos++
		if err := p.countOp(); err != nil {
			return nil, err
		}
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orCond{l, r}
	}
	return l, nil
}

func (p *exprParser) parseAnd() (cond, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKeyword(p.peek(), "AND") {
		p.pos++
		if err := p.countOp(); err != nil {
			return nil, err
		}
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = andCond{l, r}
	}
	return l, nil
}

func (p *exprParser) parseNot() (cond, error) {
	if p.isKeyword(p.peek(), "NOT") {
		p.pos++
		if err := p.countOp(); err != nil {
			return nil, err
		}
		c, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return notCond{c}, nil
	}
	return p.parsePrimary()
}

// conditionFuncArity returns how many arguments a condition function takes,
// and false if name is not a condition function. Function names are
// case-sensitive in DynamoDB.
func conditionFuncArity(name string) (int, bool) {
	switch name {
	case "attribute_exists", "attribute_not_exists":
		return 1, true
	case "attribute_type", "begins_with", "contains":
		return 2, true
	}
	return 0, false
}

func (p *exprParser) parsePrimary() (cond, error) {
	if p.isPunct(p.peek(), "(") {
		p.pos++
		c, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		return c, nil
	}
	if p.isFuncCall() {
		if _, ok := conditionFuncArity(p.peek().text); ok {
			return p.parseFuncCond()
		}
	}
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	t := p.next()
	switch {
	case t.kind == tokPunct && slices.Contains([]string{"=", "<>", "<", "<=", ">", ">="}, t.text):
		if err := p.countOp(); err != nil {
			return nil, err
		}
		r, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if t.text != "=" && t.text != "<>" {
			if err := p.checkOrderable(t.text, l, r); err != nil {
				return nil, err
			}
		}
		return cmpCond{op: t.text, l: l, r: r}, nil
	case p.isKeyword(t, "BETWEEN"):
		if err := p.countOp(); err != nil {
			return nil, err
		}
		lo, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if at := p.next(); !p.isKeyword(at, "AND") {
			return nil, p.syntaxError(at)
		}
		hi, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		if err := p.checkOrderable("BETWEEN", l, lo, hi); err != nil {
			return nil, err
		}
		lv, lok := lo.(valueOperand)
		hv, hok := hi.(valueOperand)
		if lok && hok {
			if r, ok := compareScalars(lv.v, hv.v); ok && r > 0 {
				return nil, p.errorf("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {%s:%s}, upper bound operand: AttributeValue: {%s:%s}",
					lv.v.t, scalarText(lv.v), hv.v.t, scalarText(hv.v))
			}
		}
		return betweenCond{v: l, lo: lo, hi: hi}, nil
	case p.isKeyword(t, "IN"):
		if err := p.countOp(); err != nil {
			return nil, err
		}
		if err := p.expectPunct("("); err != nil {
			return nil, err
		}
		var list []operand
		for {
			o, err := p.parseOperand()
			if err != nil {
				return nil, err
			}
			list = append(list, o)
			if len(list) > maxInOperands {
				return nil, p.errorf("The IN operator is provided with too many operands; number of operands: %d", len(list))
			}
			nt := p.next()
			if p.isPunct(nt, ")") {
				break
			}
			if !p.isPunct(nt, ",") {
				return nil, p.syntaxError(nt)
			}
		}
		return inCond{v: l, list: list}, nil
	}
	if _, ok := l.(sizeOperand); ok {
		return nil, p.errorf("The function is not allowed to be used this way in an expression; function: size")
	}
	return nil, p.syntaxError(t)
}

func scalarText(v *value) string {
	if v.t == typeB {
		return fmt.Sprintf("%x", v.b)
	}
	return v.s
}

// checkOrderable rejects placeholder values of a type that cannot be ordered.
func (p *exprParser) checkOrderable(op string, ops ...operand) error {
	for _, o := range ops {
		if v, ok := o.(valueOperand); ok && v.v.t != typeN && v.v.t != typeS && v.v.t != typeB {
			return p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", op, v.v.t)
		}
	}
	return nil
}

// parseOperand parses a path, a :placeholder or size(path).
func (p *exprParser) parseOperand() (operand, error) {
	t := p.peek()
	switch {
	case t.kind == tokValue:
		p.pos++
		v, err := p.valueRef(t)
		if err != nil {
			return nil, err
		}
		return valueOperand{v}, nil
	case p.isFuncCall():
		if t.text != "size" {
			if _, ok := conditionFuncArity(t.text); ok {
				return nil, p.errorf("The function is not allowed to be used this way in an expression; function: %s", t.text)
			}
			return nil, p.errorf("Invalid function name; function: %s", t.text)
		}
		if err := p.countOp(); err != nil {
			return nil, err
		}
		p.pos += 2
		args, err := p.parseArgs("size")
		if err != nil {
			return nil, err
		}
		if len(args) != 1 {
			return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: size, number of operands: %d", len(args))
		}
		po, ok := args[0].(pathOperand)
		if !ok {
			return nil, p.errorf("Operator or function requires a document path; operator or function: size")
		}
		return sizeOperand{po.path}, nil
	case t.kind == tokIdent || t.kind == tokName:
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		return pathOperand{path}, nil
	}
	return nil, p.syntaxError(p.next())
}

// parseArgs parses "operand, operand, ...)" after a function's "(".
func (p *exprParser) parseArgs(fn string) ([]operand, error) {
	var args []operand
	for {
		o, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		args = append(args, o)
		t := p.next()
		if p.isPunct(t, ")") {
			return args, nil
		}
		if !p.isPunct(t, ",") {
			return nil, p.syntaxError(t)
		}
		if len(args) >= 3 {
			return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", fn, len(args)+1)
		}
	}
}

func (p *exprParser) parseFuncCond() (cond, error) {
	name := p.next().text
	p.pos++ // "("
	if err := p.countOp(); err != nil {
		return nil, err
	}
	args, err := p.parseArgs(name)
	if err != nil {
		return nil, err
	}
	if want, _ := conditionFuncArity(name); len(args) != want {
		return nil, p.errorf("Incorrect number of operands for operator or function; operator or function: %s, number of operands: %d", name, len(args))
	}
	if _, ok := args[0].(pathOperand); !ok {
		return nil, p.errorf("Operator or function requires a document path; operator or function: %s", name)
	}
	switch name {
	case "attribute_type":
		if v, ok := args[1].(valueOperand); ok {
			if v.v.t != typeS {
				return nil, p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", name, v.v.t)
			}
			if _, ok := parseAttrType(v.v.s); !ok {
				return nil, p.errorf("Invalid attribute type name found in type: %s, valid types: {B,NULL,SS,BOOL,L,BS,N,NS,S,M}", v.v.s)
			}
		}
	case "begins_with":
		if v, ok := args[1].(valueOperand); ok && v.v.t != typeS && v.v.t != typeB {
			return nil, p.errorf("Incorrect operand type for operator or function; operator or function: %s, operand type: %s", name, v.v.t)
		}
	}
	return funcCond{name: name, args: args}, nil
}

// ---- projections ----

// topLevel reports whether every path names a whole top-level attribute.
func topLevel(paths []docPath) bool {
	for _, p := range paths {
		if len(p) != 1 || p[0].isIndex {
			return false
		}
	}
	return true
}

// parseProjection parses a ProjectionExpression: a comma-separated list of
// document paths that neither overlap nor conflict.
func parseProjection(src string, ctx *exprContext) ([]docPath, error) {
	p, err := newExprParser(kindProjection, src, ctx)
	if err != nil {
		return nil, err
	}
	var paths []docPath
	for {
		path, err := p.parsePath()
		if err != nil {
			return nil, err
		}
		paths = append(paths, path)
		t := p.next()
		if t.kind == tokEOF {
			break
		}
		if !p.isPunct(t, ",") {
			return nil, p.syntaxError(t)
		}
	}
	if err := checkOverlaps(kindProjection, paths); err != nil {
		return nil, err
	}
	return paths, nil
}

// project returns the parts of item named by paths, keeping their structure:
// a.b yields {"a":{"M":{"b":...}}}, and list elements keep their order.
func project(item map[string]*value, paths []docPath) map[string]*value {
	if topLevel(paths) {
		// Whole attributes only (no two paths overlap): the projection is those of
		// item's attributes that exist.
		out := make(map[string]*value, len(paths))
		for _, p := range paths {
			if v := item[p[0].name]; v != nil {
				out[p[0].name] = v
			}
		}
		return out
	}
	type node struct {
		leaf *value
		m    map[string]*node
		l    map[int]*node
	}
	root := &node{m: map[string]*node{}}
	for _, path := range paths {
		v := resolvePath(item, path)
		if v == nil {
			continue
		}
		n := root
		for _, e := range path {
			var next *node
			if e.isIndex {
				if n.l == nil {
					n.l = map[int]*node{}
				}
				if next = n.l[e.index]; next == nil {
					next = &node{}
					n.l[e.index] = next
				}
			} else {
				if n.m == nil {
					n.m = map[string]*node{}
				}
				if next = n.m[e.name]; next == nil {
					next = &node{}
					n.m[e.name] = next
				}
			}
			n = next
		}
		n.leaf = v
	}
	var build func(n *node) *value
	build = func(n *node) *value {
		switch {
		case n.leaf != nil:
			return n.leaf
		case n.l != nil:
			idx := slices.Sorted(maps.Keys(n.l))
			l := make([]*value, len(idx))
			for i, k := range idx {
				l[i] = build(n.l[k])
			}
			return &value{t: typeL, l: l}
		default:
			m := make(map[string]*value, len(n.m))
			for k, c := range n.m {
				m[k] = build(c)
			}
			return &value{t: typeM, m: m}
		}
	}
	out := make(map[string]*value, len(root.m))
	for k, c := range root.m {
		out[k] = build(c)
	}
	return out
}
