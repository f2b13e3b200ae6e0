package cachecore

import (
	"fmt"
	"slices"
	"strings"
)

// Object types the cache knows how to fetch and invalidate.
const (
	ObjectCustomer     = "customer"
	ObjectSubscription = "subscription"
	ObjectPrice        = "price"
	ObjectInvoice      = "invoice"
	ObjectProduct      = "product"
)

// ObjectTypes lists the object types Ref accepts.
var ObjectTypes = []string{ObjectCustomer, ObjectSubscription, ObjectPrice, ObjectInvoice, ObjectProduct}

// Ref names one Stripe object as the cache stores it: its type, its ID, and the expand
// parameters of the request (part of the key: an expanded object is a different value).
type Ref struct {
	Object string
	ID     string
	Expand []string
}

// Key returns the cache key of r: "customer:cus_123", or with expansions
// "customer:cus_123?expand=a,b" (sorted, so the order of Expand does not matter).
func (r Ref) Key() string {
	if len(r.Expand) == 0 {
		return r.Object + ":" + r.ID
	}
	exp := slices.Clone(r.Expand)
	slices.Sort(exp)
	exp = slices.Compact(exp)
	return r.Object + ":" + r.ID + "?expand=" + strings.Join(exp, ",")
}

// Validate says what is wrong with r, if anything.
func (r Ref) Validate() error {
	if !slices.Contains(ObjectTypes, r.Object) {
		return fmt.Errorf("unknown object type %q: want one of %s", r.Object, strings.Join(ObjectTypes, ", "))
	}
	if r.ID == "" || strings.ContainsAny(r.ID, ":?/ ") {
		return fmt.Errorf("bad %s ID %q", r.Object, r.ID)
	}
	return nil
}

// ParseKey is the inverse of Ref.Key.
func ParseKey(key string) (Ref, error) {
	obj, rest, ok := strings.Cut(key, ":")
	if !ok {
		return Ref{}, fmt.Errorf("cache key %q has no object type", key)
	}
	id, query, _ := strings.Cut(rest, "?")
	r := Ref{Object: obj, ID: id}
	if query != "" {
		exp, ok := strings.CutPrefix(query, "expand=")
		if !ok || exp == "" {
			return Ref{}, fmt.Errorf("cache key %q: bad query %q", key, query)
		}
		r.Expand = strings.Split(exp, ",")
	}
	return r, r.Validate()
}
