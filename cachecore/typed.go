package cachecore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stripe/stripe-go/v76"
)

// getTyped reads ref and decodes it into a stripe-go type.
func getTyped[T any](ctx context.Context, c *Cache, ref Ref) (*T, Result, error) {
	res, err := c.Get(ctx, ref)
	if err != nil {
		return nil, res, err
	}
	v := new(T)
	if err := json.Unmarshal(res.Value, v); err != nil {
		return nil, res, fmt.Errorf("cachecore: decode %s %s: %w", ref.Object, ref.ID, err)
	}
	return v, res, nil
}

// GetCustomer returns a customer, with expand parameters part of the cache key.
func (c *Cache) GetCustomer(ctx context.Context, id string, expand ...string) (*stripe.Customer, Result, error) {
	return getTyped[stripe.Customer](ctx, c, Ref{Object: ObjectCustomer, ID: id, Expand: expand})
}

// GetSubscription returns a subscription.
func (c *Cache) GetSubscription(ctx context.Context, id string, expand ...string) (*stripe.Subscription, Result, error) {
	return getTyped[stripe.Subscription](ctx, c, Ref{Object: ObjectSubscription, ID: id, Expand: expand})
}

// GetPrice returns a price.
func (c *Cache) GetPrice(ctx context.Context, id string, expand ...string) (*stripe.Price, Result, error) {
	return getTyped[stripe.Price](ctx, c, Ref{Object: ObjectPrice, ID: id, Expand: expand})
}

// GetInvoice returns an invoice.
func (c *Cache) GetInvoice(ctx context.Context, id string, expand ...string) (*stripe.Invoice, Result, error) {
	return getTyped[stripe.Invoice](ctx, c, Ref{Object: ObjectInvoice, ID: id, Expand: expand})
}

// GetProduct returns a product.
func (c *Cache) GetProduct(ctx context.Context, id string, expand ...string) (*stripe.Product, Result, error) {
	return getTyped[stripe.Product](ctx, c, Ref{Object: ObjectProduct, ID: id, Expand: expand})
}
