package bench

import (
	"encoding/json"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// decodeObject decodes a cached Stripe object into its stripe-go type, as a handler
// calling cachecore's typed getters would.
func decodeObject(object string, raw []byte) error {
	var v any
	switch object {
	case "customer":
		v = &stripe.Customer{}
	case "subscription":
		v = &stripe.Subscription{}
	case "price":
		v = &stripe.Price{}
	case "invoice":
		v = &stripe.Invoice{}
	case "product":
		v = &stripe.Product{}
	default:
		v = &map[string]any{}
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %w", object, err)
	}
	return nil
}
