// Package stripeoverlay makes stripe-mock behave like a real, stateful, rate-limited
// Stripe account for the benchmark: an HTTP layer in front of it that the cache's
// stripe-go client talks to instead.
//
// stripe-mock is stateless: it validates each request against Stripe's OpenAPI spec and
// answers with a fixture, echoing the ID asked for (GET /v1/customers/cus_123 answers a
// customer whose id is cus_123) and the simple fields an update sets, but it remembers
// nothing. The overlay adds what the benchmark needs:
//
//   - Versions. Every customer, subscription, price, invoice, product, coupon, plan and
//     charge (/v1/<plural>/<id>) has a version: 1, current since the overlay started,
//     until it changes. An update (POST /v1/<plural>/<id>, form-encoded as stripe-go
//     sends it) is validated by stripe-mock, then remembered: metadata merged as Stripe
//     does (an empty value deletes a key, metadata="" clears them all, with Stripe's
//     limits of 50 keys, 40-character keys and 500-character values), and the simple
//     top-level fields stripe-mock echoes (name, email, description, balance, ...).
//     Later reads show the new state. A DELETE deletes customers (GET then answers
//     Stripe's {"id":..,"object":"customer","deleted":true}), products, invoices,
//     coupons and plans (GET then answers 404 resource_missing), and cancels
//     subscriptions (status "canceled"); prices and charges cannot be deleted, as at
//     Stripe. Update and Delete do the same from Go, for the harness.
//   - Stamps. Every answer about an object carries its version in
//     metadata["cachebench_version"] (a decimal string, what cachecore.StripeOrigin and
//     cachecore's event handling read) and in the Cachebench-Version header, with
//     Cachebench-Object: type/id. List and search answers have each versioned object in
//     their data made current and stamped, and deleted ones left out.
//   - Webhooks. Every change emits a Stripe event (customer.updated,
//     customer.subscription.deleted, ...) whose data.object is the new state, stamped,
//     with previous_attributes holding the changed fields' old values (for metadata,
//     the changed keys, null for keys that were absent), api_version stripe.APIVersion,
//     signed in Stripe-Signature as Stripe does, so stripe-go's webhook.ConstructEvent
//     verifies it. Events go to in-process subscribers (Subscribe) and loopback HTTP
//     endpoints (SubscribeURL), after a configurable delay and jitter, with a share
//     duplicated and a share delivered after the next event. With WebhookConfig.Manual
//     the caller sends them instead (Deliver, NextDelivery), on the Config.Now clock: a
//     discrete-event simulation applies each at its simulated instant.
//   - Rate limits. Token buckets like Stripe's basic rate limiter, global to the
//     overlay as Stripe's are to an account: test mode 25 reads and 25 writes per
//     second, live mode 100 and 100, search endpoints 20 per second on top; beyond them
//     a 429 with Stripe's rate_limit error body.
//   - Faults. Inject serves the HTTP kinds of netsim.Fault: a 429 storm
//     (netsim.KindRateLimit) and a share of 500 api_errors (netsim.KindErrors).
//   - A staleness oracle. Check says whether a version of an object was current at a
//     given time and, if not, for how long it had been stale, from the full version
//     history.
//
// Everything else (other paths, sub-resources such as /v1/invoices/in_1/pay, expanded
// objects nested in an answer) passes through to stripe-mock unchanged, rate limits and
// faults apart.
//
// A caller starts stripe-mock, puts the overlay in front of it, points its stripe-go
// client at the overlay and subscribes the cache to its events:
//
//	ov, err := stripeoverlay.New(stripeoverlay.Config{
//		Upstream: env.Stripe.URL, // stripe-mock
//		Mode:     "test",
//		Webhook:  stripeoverlay.WebhookConfig{Delay: time.Second, Duplicates: 0.01},
//	})
//	if err != nil {
//		return err
//	}
//	if err := ov.Start(); err != nil {
//		return err
//	}
//	defer ov.Close(context.Background())
//	ov.Subscribe(func(ctx context.Context, payload []byte, sig string) error {
//		ev, err := webhook.ConstructEvent(payload, sig, ov.WebhookSecret())
//		if err != nil {
//			return err
//		}
//		return cache.Apply(ctx, &ev)
//	})
//	// stripe-go client with URL ov.URL(); ov.Update(ctx, "customer", "cus_1", md);
//	// ov.Check("customer", "cus_1", versionRead, time.Now())
package stripeoverlay
