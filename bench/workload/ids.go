package workload

import (
	"fmt"
	"strconv"
	"strings"
)

// Object types of the keys (keys.object and the names in keys.mix); the same names as
// cachecore's Object constants.
const (
	ObjectCustomer     = "customer"
	ObjectSubscription = "subscription"
	ObjectPrice        = "price"
	ObjectInvoice      = "invoice"
	ObjectProduct      = "product"
)

// objectPrefixes maps each object type to the prefix of its Stripe IDs, in the order of
// ObjectTypes.
var objectPrefixes = [...]struct{ object, prefix string }{
	{ObjectCustomer, "cus"},
	{ObjectSubscription, "sub"},
	{ObjectPrice, "price"},
	{ObjectInvoice, "in"},
	{ObjectProduct, "prod"},
}

// ObjectTypes returns the object types the workload can ask for, in a fixed order.
func ObjectTypes() []string {
	out := make([]string, len(objectPrefixes))
	for i, p := range objectPrefixes {
		out[i] = p.object
	}
	return out
}

// IDPrefix returns the prefix of the Stripe IDs of object ("cus" for customer) and whether
// object is a known type.
func IDPrefix(object string) (string, bool) {
	for _, p := range objectPrefixes {
		if p.object == object {
			return p.prefix, true
		}
	}
	return "", false
}

// objectOfID returns the object type of a Stripe ID by its prefix ("cus_x" is a customer).
func objectOfID(id string) (string, bool) {
	prefix, _, ok := strings.Cut(id, "_")
	if !ok {
		return "", false
	}
	for _, p := range objectPrefixes {
		if p.prefix == prefix {
			return p.object, true
		}
	}
	return "", false
}

// checkObject says what is wrong with object as the value of field, if anything.
func checkObject(field, object string) error {
	if _, ok := IDPrefix(object); !ok {
		return fmt.Errorf("%s: unknown object type %q: use one of %s", field, object, strings.Join(ObjectTypes(), ", "))
	}
	return nil
}

// idMinDigits is the width of the numeric part of generated IDs, for counts up to 10^10.
const idMinDigits = 10

// idTable holds the generated IDs of one object type back to back in one string, each
// of width bytes, so that an ID is a substring (no allocation) and the table costs width
// bytes per key.
type idTable struct {
	data  string
	width int
}

func newIDTable(object string, count int) idTable {
	prefix, ok := IDPrefix(object)
	if !ok {
		prefix = "obj"
	}
	prefix += "_cb"
	digits := idMinDigits
	if count > 1 {
		digits = max(digits, len(strconv.Itoa(count-1)))
	}
	width := len(prefix) + digits
	var b strings.Builder
	b.Grow(width * count)
	num := make([]byte, 0, 20)
	for i := range count {
		b.WriteString(prefix)
		num = strconv.AppendInt(num[:0], int64(i), 10)
		for range digits - len(num) {
			b.WriteByte('0')
		}
		b.Write(num)
	}
	return idTable{data: b.String(), width: width}
}

// id returns the ID of index i.
func (t idTable) id(i int) string { return t.data[i*t.width : (i+1)*t.width] }

// IDs returns count deterministic Stripe-style IDs of object: index i has the ID
// prefix_cb followed by i in at least ten digits ("cus_cb0000000042" for customer 42).
// They use only letters, digits and underscores, so they are valid in a URL path, and the
// same index always gives the same ID. An object type that is not one of ObjectTypes gets
// the prefix "obj".
func IDs(object string, count int) []string {
	if count <= 0 {
		return nil
	}
	t := newIDTable(object, count)
	out := make([]string, count)
	for i := range out {
		out[i] = t.id(i)
	}
	return out
}

// validID reports whether id is usable as a key: non-empty, and only letters, digits,
// '_', '-' and '.' (safe in a URL path and in a cache key).
func validID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
