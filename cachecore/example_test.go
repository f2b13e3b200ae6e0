package cachecore_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cachebench/cachebench/cachecore"
)

// A cache with an in-process L1 in front of an origin: the first read goes to the origin,
// the second is an L1 hit. In a Lambda function the origin is a StripeOrigin, and L2/L3 are
// a RedisTier and a DynamoTier.
func ExampleCache_Get() {
	l1, _ := cachecore.NewL1(cachecore.L1Config{Policy: "tinylfu", MaxEntries: 10000, TTL: 30 * time.Second})
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		return []byte(`{"id":"` + ref.ID + `","object":"customer"}`), 7, true, nil
	})
	cache, err := cachecore.New(cachecore.Config{L1: l1, Origin: origin})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cache.Close()

	ctx := context.Background()
	for i := 0; i < 2; i++ {
		res, _ := cache.Get(ctx, cachecore.Ref{Object: cachecore.ObjectCustomer, ID: "cus_123"})
		fmt.Printf("%s version %d: %s\n", res.Tier, res.Version, res.Value)
	}
	fmt.Println("origin fetches:", cache.Stats().OriginFetches)
	// Output:
	// origin version 7: {"id":"cus_123","object":"customer"}
	// l1 version 7: {"id":"cus_123","object":"customer"}
	// origin fetches: 1
}

// Typed access decodes into stripe-go's types; expand parameters are part of the key.
func ExampleCache_GetCustomer() {
	origin := cachecore.OriginFunc(func(ctx context.Context, ref cachecore.Ref) ([]byte, int64, bool, error) {
		return []byte(`{"id":"cus_9","object":"customer","email":"a@example.com"}`), 0, false, nil
	})
	cache, _ := cachecore.New(cachecore.Config{Origin: origin})
	defer cache.Close()
	cus, res, err := cache.GetCustomer(context.Background(), "cus_9", "default_source")
	fmt.Println(cus.Email, res.Tier, err)
	// Output: a@example.com origin <nil>
}
