package memdynamo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// mustValue decodes one AttributeValue in DynamoDB JSON.
func mustValue(t testing.TB, js string) *value {
	t.Helper()
	var v value
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return &v
}

func mustItem(t testing.TB, js string) map[string]*value {
	t.Helper()
	var m map[string]*value
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return m
}

const sampleItem = `{
	"n":   {"N": "10"},
	"neg": {"N": "-2.5"},
	"s":   {"S": "apple"},
	"b":   {"B": "AQID"},
	"t":   {"BOOL": true},
	"z":   {"NULL": true},
	"m":   {"M": {"child": {"N": "5"}, "deep": {"M": {"x": {"S": "y"}}}}},
	"l":   {"L": [{"S": "x"}, {"N": "2"}]},
	"ss":  {"SS": ["a", "b"]},
	"ns":  {"NS": ["1", "2.5"]},
	"bs":  {"BS": ["AQ==", "Ag=="]}
}`

const sampleValues = `{
	":zero": {"N": "0"}, ":one": {"N": "1"}, ":two": {"N": "2"}, ":five": {"N": "5"}, ":nine": {"N": "9"},
	":ten": {"N": "10"}, ":tenf": {"N": "10.000"}, ":big": {"N": "1e2"}, ":m3": {"N": "-3"},
	":apple": {"S": "apple"}, ":ap": {"S": "ap"}, ":banana": {"S": "banana"}, ":x": {"S": "x"}, ":a": {"S": "a"},
	":ten_s": {"S": "10"}, ":N": {"S": "N"}, ":M": {"S": "M"}, ":b123": {"B": "AQID"}, ":b124": {"B": "AQIE"},
	":b12": {"B": "AQI="}, ":one_b": {"B": "AQ=="}, ":nspart": {"N": "2.50"}, ":ss": {"SS": ["b", "a"]},
	":true": {"BOOL": true}, ":y": {"S": "y"}
}`

func TestConditionEval(t *testing.T) {
	item := mustItem(t, sampleItem)
	values := mustItem(t, sampleValues)
	names := map[string]string{"#n": "n", "#dotted": "a.b", "#m": "m"}
	tests := []struct {
		expr string
		want bool
	}{
		// Numbers compare numerically, not as strings ("10" < "9" lexically).
		{"n > :nine", true},
		{"n < :big", true},
		{"n = :tenf", true},
		{"n <> :tenf", false},
		{"neg < :zero", true},
		{"neg > :m3", true},
		{"n >= :ten AND n <= :ten", true},
		// Different types never compare.
		{"n = :ten_s", false},
		{"n < :ten_s", false},
		{"n > :ten_s", false},
		// Strings and binaries compare bytewise.
		{"s < :banana", true},
		{"s >= :apple", true},
		{"b < :b124", true},
		{"b > :b12", true},
		{"b = :b123", true},
		// Missing attributes.
		{"nothere = :ten", false},
		{"nothere <> :ten", true},
		{"nothere < :ten", false},
		{"attribute_exists(n)", true},
		{"attribute_not_exists(nothere)", true},
		{"attribute_exists(m.child)", true},
		{"attribute_not_exists(m.nope)", true},
		{"attribute_exists(#dotted)", false},
		// BETWEEN and IN.
		{"n BETWEEN :one AND :big", true},
		{"n between :ten and :ten", true},
		{"n BETWEEN :one AND :five", false},
		{"s BETWEEN :ap AND :banana", true},
		{"s IN (:x, :apple)", true},
		{"s IN (:x, :banana)", false},
		{"nothere IN (:x)", false},
		// Precedence: NOT > AND > OR; parentheses.
		{"NOT n = :ten", false},
		{"NOT n = :ten OR s = :apple", true},
		{"NOT (n = :ten OR s = :apple)", false},
		{"n = :ten AND s = :x OR s = :apple", true},
		{"n = :ten AND (s = :x OR s = :banana)", false},
		{"not not n = :ten", true},
		{"((n = :ten))", true},
		// Functions.
		{"begins_with(s, :ap)", true},
		{"begins_with(s, :banana)", false},
		{"begins_with(b, :one_b)", true},
		{"begins_with(n, :x)", false},
		{"contains(s, :ap)", true},
		{"contains(ss, :a)", true},
		{"contains(ss, :x)", false},
		{"contains(ns, :nspart)", true},
		{"contains(bs, :one_b)", true},
		{"contains(l, :x)", true},
		{"contains(l, :two)", true},
		{"contains(l, :five)", false},
		{"attribute_type(n, :N)", true},
		{"attribute_type(m, :M)", true},
		{"attribute_type(s, :N)", false},
		{"size(s) = :five", true},
		{"size(ss) = :two", true},
		{"size(m) = :two", true},
		{"size(l) < :five", true},
		{"size(b) > :two", true},
		{"size(n) = :two", false},
		// Nested paths and placeholders.
		{"m.child = :five", true},
		{"#m.child = :five", true},
		{"m.deep.x = :y", true},
		{"l[0] = :x", true},
		{"l[1] = :two", true},
		{"l[5] = :two", false},
		{"#n = :ten", true},
		// Whole values.
		{"ss = :ss", true},
		{"t = :true", true},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			ctx, err := newExprContext(names, values, true)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseCondition(tc.expr, ctx)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if got := c.eval(item); got != tc.want {
				t.Fatalf("eval = %v, want %v", got, tc.want)
			}
			if got := c.eval(nil); tc.expr == "attribute_not_exists(nothere)" && !got {
				t.Fatal("attribute_not_exists is false on a missing item")
			}
		})
	}
}

func TestConditionErrors(t *testing.T) {
	values := mustItem(t, sampleValues)
	tests := []struct{ expr, msg string }{
		{"n = ", `Syntax error; token: "<EOF>"`},
		{"(n = :one", `Syntax error; token: "<EOF>"`},
		{"n = :one)", `Syntax error; token: ")"`},
		{"n = :one AND", `Syntax error; token: "<EOF>"`},
		{"n BETWEEN :one", `Syntax error; token: "<EOF>"`},
		{"n BETWEEN :one OR :two", `Syntax error; token: "OR"`},
		{"n IN ()", `Syntax error; token: ")"`},
		{"n IN (:one :two)", `Syntax error; token: ":two"`},
		{"n == :one", `Syntax error; token: "="`},
		{"n = :one !", `Syntax error; token: "!"`},
		{"n = #", `Syntax error; token: "#"`},
		{"n[x] = :one", `Syntax error; token: "x"`},
		{"n.1 = :one", `Syntax error; token: "1"`},
		{"1 = :one", `Syntax error; token: "1"`},
		{"n = :nope", "attribute value: :nope"},
		{"#nope = :one", "attribute name: #nope"},
		{"status = :one", "reserved keyword: status"},
		{"n = and", "reserved keyword: and"},
		{"attribute_exists(n, :one)", "number of operands: 2"},
		{"begins_with(n)", "number of operands: 1"},
		{"attribute_type(n, :one)", "operand type: N"},
		{"attribute_type(n, :x)", "Invalid attribute type name found in type: x"},
		{"contains(:x, n)", "requires a document path"},
		{"size(:x) = :one", "requires a document path"},
		{"n < :ss", "operand type: SS"},
		{"n BETWEEN :two AND :one", "requires upper bound"},
		{"list_append(n, :one)", "Invalid function name"},
		{"   ", "The expression can not be empty"},
		{strings.Repeat("n = :one OR ", 400) + "n = :one", "Expression size has exceeded the maximum allowed size"},
		{strings.Repeat("NOT ", 301) + "n = :one", "too many operators"},
		{"a" + strings.Repeat(".a", 32) + " = :one", "too many nesting levels"},
	}
	for _, tc := range tests {
		t.Run(tc.expr[:min(len(tc.expr), 40)], func(t *testing.T) {
			ctx, err := newExprContext(nil, values, true)
			if err != nil {
				t.Fatal(err)
			}
			_, err = parseCondition(tc.expr, ctx)
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != errValidation {
				t.Fatalf("got %v, want a ValidationException", err)
			}
			if !strings.HasPrefix(ae.message, "Invalid ConditionExpression: ") || !strings.Contains(ae.message, tc.msg) {
				t.Fatalf("message %q, want it to contain %q", ae.message, tc.msg)
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	tests := []struct {
		in, canonical string
		err           string
	}{
		{"0", "0", ""},
		{"-0", "0", ""},
		{"000.000", "0", ""},
		{"0e999999999999", "0", ""},
		{"42", "42", ""},
		{"+42", "42", ""},
		{"-42.000", "-42", ""},
		{"0.0042", "0.0042", ""},
		{".5", "0.5", ""},
		{"5.", "5", ""},
		{"1.5e3", "1500", ""},
		{"15E-3", "0.015", ""},
		{"-1e-130", "-0." + strings.Repeat("0", 129) + "1", ""},
		{"9.9999999999999999999999999999999999999E+125", "99999999999999999999999999999999999999" + strings.Repeat("0", 88), ""},
		{"", "", "cannot be converted"},
		{"-", "", "cannot be converted"},
		{".", "", "cannot be converted"},
		{"1e", "", "cannot be converted"},
		{"1e+", "", "cannot be converted"},
		{"1.2.3", "", "cannot be converted"},
		{" 1", "", "cannot be converted"},
		{"0x10", "", "cannot be converted"},
		{"NaN", "", "cannot be converted"},
		{"Infinity", "", "cannot be converted"},
		{"1e126", "", "Number overflow"},
		{"1e-131", "", "Number underflow"},
		{"1e999999999999", "", "Number overflow"},
		{"1234567890123456789012345678901234567891", "", "38 significant digits"},
		{"1000000000000000000000000000000000000000000", "1" + strings.Repeat("0", 42), ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := parseDecimal(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v (%v), want an error containing %q", d, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.String(); got != tc.canonical {
				t.Fatalf("canonical %q, want %q", got, tc.canonical)
			}
			again, err := parseDecimal(d.String())
			if err != nil || again != d {
				t.Fatalf("canonical form does not parse back: %v %v", again, err)
			}
		})
	}
}

func TestDecimalCompare(t *testing.T) {
	tests := []struct {
		a, b string
		cmp  int
	}{
		{"1", "2", -1},
		{"10", "9", 1},
		{"1.5", "1.50", 0},
		{"-1", "1", -1},
		{"-10", "-9", -1},
		{"0.001", "0.01", -1},
		{"1e100", "1", 1},
		{"0", "-0.5", 1},
		{"123.456", "123.4561", -1},
	}
	for _, tc := range tests {
		t.Run(tc.a+" vs "+tc.b, func(t *testing.T) {
			a, _ := parseDecimal(tc.a)
			b, _ := parseDecimal(tc.b)
			if got := a.compare(b); got != tc.cmp {
				t.Errorf("compare = %d, want %d", got, tc.cmp)
			}
			if got := b.compare(a); got != -tc.cmp {
				t.Errorf("reverse compare = %d, want %d", got, -tc.cmp)
			}
		})
	}
}

func TestUnixSeconds(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1700000000", 1700000000, true},
		{"1700000000.9", 1700000000, true},
		{"-1.5", -2, true},
		{"0.25", 0, true},
		{"1e30", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			d, err := parseDecimal(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := d.unixSeconds()
			if got != tc.want || ok != tc.ok {
				t.Fatalf("unixSeconds = %d, %v; want %d, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestItemSize(t *testing.T) {
	tests := []struct {
		item string
		want int
	}{
		{`{"a": {"S": "héllo"}}`, 1 + 6},
		{`{"ab": {"B": "AQID"}}`, 2 + 3},
		{`{"a": {"BOOL": false}, "b": {"NULL": true}}`, 2 + 2},
		{`{"a": {"N": "1"}}`, 1 + 3},
		{`{"a": {"N": "10"}}`, 1 + 2},
		{`{"a": {"N": "123"}}`, 1 + 4},
		{`{"a": {"L": []}}`, 1 + 3},
		{`{"a": {"L": [{"S": "xy"}, {"NULL": true}]}}`, 1 + 3 + (1 + 2) + (1 + 1)},
		{`{"a": {"M": {"k": {"S": "v"}}}}`, 1 + 3 + (1 + 1 + 1)},
		{`{"a": {"SS": ["x", "yz"]}}`, 1 + 3},
	}
	for _, tc := range tests {
		t.Run(tc.item, func(t *testing.T) {
			if got := itemSize(mustItem(t, tc.item)); got != tc.want {
				t.Fatalf("itemSize = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestValueJSONRoundTrip(t *testing.T) {
	item := mustItem(t, sampleItem)
	b := appendItemJSON(nil, item)
	var back map[string]*value
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("re-decode %s: %v", b, err)
	}
	if len(back) != len(item) {
		t.Fatalf("%d attributes after round trip, want %d", len(back), len(item))
	}
	for k, v := range item {
		if !equal(v, back[k]) {
			t.Errorf("%s changed: %s vs %s", k, v.appendJSON(nil), back[k].appendJSON(nil))
		}
	}
	s := appendJSONString(nil, "a\"\\\n\x00\xff€")
	var str string
	if err := json.Unmarshal(s, &str); err != nil || str != "a\"\\\n\x00\uFFFD€" {
		t.Fatalf("appendJSONString produced %s (%q, %v)", s, str, err)
	}
}

// FuzzExpressions feeds arbitrary text to the condition and projection
// parsers: bad input must give a ValidationException, never a panic, and
// whatever parses must evaluate without panicking.
func FuzzExpressions(f *testing.F) {
	for _, seed := range []string{
		"attribute_not_exists(pk) OR version < :v",
		"#n = :v AND NOT (a.b[1] BETWEEN :lo AND :hi)",
		"size(l) > :two AND begins_with(s, :ap) AND contains(ss, :a)",
		"n IN (:one, :two, :five)",
		"attribute_type(n, :N)",
		"n + :one = :v",
		"#n, m.child, l[0]",
		"((((",
		"a[99999999999999999999] = :one",
		"\xff\xfe",
		"",
	} {
		f.Add(seed)
	}
	values := mustItem(f, sampleValues+"")
	values[":v"] = mustValue(f, `{"N":"3"}`)
	values[":lo"] = mustValue(f, `{"N":"1"}`)
	values[":hi"] = mustValue(f, `{"N":"9"}`)
	values[":l"] = mustValue(f, `{"L":[{"S":"q"}]}`)
	names := map[string]string{"#n": "n", "#m": "m"}
	item := mustItem(f, sampleItem)
	f.Fuzz(func(t *testing.T, expr string) {
		check := func(err error) bool {
			if err == nil {
				return true
			}
			var ae *apiError
			if !errors.As(err, &ae) || ae.typ != errValidation || ae.message == "" {
				t.Fatalf("%q: error %v is not a ValidationException", expr, err)
			}
			return false
		}
		ctx := func() *exprContext {
			c, err := newExprContext(names, values, true)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if c, err := parseCondition(expr, ctx()); check(err) {
			c.eval(item)
			c.eval(nil)
		}
		if paths, err := parseProjection(expr, ctx()); check(err) {
			project(item, paths)
		}
	})
}

// FuzzDecodeRequest feeds arbitrary JSON to the request decoder: it must
// return an error or a valid item, never panic.
func FuzzDecodeRequest(f *testing.F) {
	for _, seed := range []string{
		`{"TableName":"t","Item":{"pk":{"S":"a"},"n":{"N":"1.5"},"m":{"M":{"l":{"L":[{"NULL":true}]}}}}}`,
		`{"TableName":"t","Item":{"pk":{"SS":["a","a"]}}}`,
		`{"TableName":"t","Item":{"pk":{"NS":["1e500"]}}}`,
		`{"TableName":"t","Item":{"pk":{"B":"!!"}}}`,
		`{"TableName":"t","Item":{"pk":null}}`,
		`{"Item":[`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in putItemInput
		if err := decodeRequest(body, &in); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v is not an API error", err)
			}
			return
		}
		if in.Item != nil {
			if _, err := validateItem(in.Item); err == nil {
				_ = appendItemJSON(nil, in.Item)
				itemSize(in.Item)
			}
		}
	})
}
