package memdynamo

import (
	"cmp"
	"strconv"
	"strings"
)

// DynamoDB's limits on the Number type: at most 38 significant digits, and a
// magnitude between 1E-130 and 9.9999999999999999999999999999999999999E+125.
const (
	maxNumberDigits = 38
	maxNumberSciExp = 125
	minNumberSciExp = -130
)

// decimal is an exact DynamoDB number: (-1 if neg) × coef × 10^exp, where coef
// is a run of decimal digits with neither leading nor trailing zeros. The
// empty coef is zero (and then neg is false and exp is 0).
type decimal struct {
	neg  bool
	coef string
	exp  int
}

// parseDecimal parses the string form of a DynamoDB N value (an optional sign,
// digits with an optional decimal point, and an optional exponent) and
// enforces DynamoDB's precision and range limits.
func parseDecimal(s string) (decimal, error) {
	bad := func() (decimal, error) {
		return decimal{}, validationf("The parameter cannot be converted to a numeric value: %s", s)
	}
	var d decimal
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		d.neg = s[i] == '-'
		i++
	}
	var digits []byte
	fracDigits := 0
	sawDigit, sawDot := false, false
mantissa:
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if sawDot {
				fracDigits++
			}
			if len(digits) == 0 && c == '0' {
				continue // leading zero
			}
			digits = append(digits, c)
		case c == '.' && !sawDot:
			sawDot = true
		default:
			break mantissa
		}
	}
	if !sawDigit {
		return bad()
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		expNeg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			expNeg = s[i] == '-'
			i++
		}
		start := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if exp < 1_000_000_000 { // saturate: anything this large is out of range anyway
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == start {
			return bad()
		}
		if expNeg {
			exp = -exp
		}
	}
	if i != len(s) {
		return bad()
	}
	exp -= fracDigits
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
		exp++
	}
	if len(digits) == 0 {
		return decimal{}, nil
	}
	d.coef = string(digits)
	d.exp = exp
	if len(d.coef) > maxNumberDigits {
		return decimal{}, validationf("Attempting to store more than %d significant digits in a Number", maxNumberDigits)
	}
	switch sci := d.sciExp(); {
	case sci > maxNumberSciExp:
		return decimal{}, validationf("Number overflow. Attempting to store a number with magnitude larger than supported range")
	case sci < minNumberSciExp:
		return decimal{}, validationf("Number underflow. Attempting to store a number with magnitude smaller than supported range")
	}
	return d, nil
}

// sciExp is the power of ten of the most significant digit (0 for zero).
func (d decimal) sciExp() int {
	if d.coef == "" {
		return 0
	}
	return d.exp + len(d.coef) - 1
}

func (d decimal) sign() int {
	switch {
	case d.coef == "":
		return 0
	case d.neg:
		return -1
	default:
		return 1
	}
}

// String returns the canonical form DynamoDB returns: no exponent, no leading
// or trailing zeros, no "+" and no "-0".
func (d decimal) String() string {
	if d.coef == "" {
		return "0"
	}
	var b strings.Builder
	if d.neg {
		b.WriteByte('-')
	}
	switch point := len(d.coef) + d.exp; {
	case d.exp >= 0:
		b.WriteString(d.coef)
		b.WriteString(strings.Repeat("0", d.exp))
	case point > 0:
		b.WriteString(d.coef[:point])
		b.WriteByte('.')
		b.WriteString(d.coef[point:])
	default:
		b.WriteString("0.")
		b.WriteString(strings.Repeat("0", -point))
		b.WriteString(d.coef)
	}
	return b.String()
}

// compare returns -1, 0 or +1 as d is less than, equal to or greater than e.
func (d decimal) compare(e decimal) int {
	ds, es := d.sign(), e.sign()
	if ds != es || ds == 0 {
		return cmp.Compare(ds, es)
	}
	c := cmp.Compare(d.sciExp(), e.sciExp())
	if c == 0 {
		// Same leading power of ten: digit strings without trailing zeros
		// compare lexically exactly as the numbers do.
		c = strings.Compare(d.coef, e.coef)
	}
	return c * ds
}

// unixSeconds returns d rounded down to an integer, if it fits in an int64.
func (d decimal) unixSeconds() (int64, bool) {
	if d.coef == "" {
		return 0, true
	}
	if d.sciExp() > 17 {
		return 0, false
	}
	var intPart string
	if d.exp >= 0 {
		intPart = d.coef + strings.Repeat("0", d.exp)
	} else if p := len(d.coef) + d.exp; p > 0 {
		intPart = d.coef[:p]
	}
	n := int64(0)
	if intPart != "" {
		v, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return 0, false
		}
		n = v
	}
	if d.neg {
		n = -n
		if d.exp < 0 && len(intPart) < len(d.coef) { // had a fractional part: floor
			n--
		}
	}
	return n, true
}

// numberSize approximates the bytes DynamoDB bills for a number: one byte per
// two significant digits plus one or two bytes, depending on how the digits
// fall into DynamoDB's base-100 encoding.
func numberSize(canonical string) int {
	d, err := parseDecimal(canonical)
	if err != nil || d.coef == "" {
		return 3
	}
	n := (len(d.coef) + 1) / 2
	if d.sciExp()%2 != 0 {
		return n + 1
	}
	return n + 2
}
