package stripeoverlay_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

// TestRateLimitAdmitsTheRate runs a tight loop of reads for 2 s against the test-mode
// limiter (25 reads/s, bucket 25) on the real clock. A token bucket admits its burst
// plus rate × elapsed: 25 + 25·2 = 75, give or take the token being refilled during the
// last request.
func TestRateLimitAdmitsTheRate(t *testing.T) {
	o := start(t, stripeoverlay.Config{}) // test mode
	target := o.URL() + "/v1/customers/cus_rl"
	var admitted, limited int
	var firstAt, lastAt time.Time
	var limitedBody []byte
	var limitedHeader http.Header
	deadline := time.Now().Add(2 * time.Second)
	for n := 0; time.Now().Before(deadline) && n < 100000; n++ {
		at := time.Now()
		a := do(t, http.MethodGet, target, nil)
		switch a.status {
		case http.StatusOK:
			if admitted == 0 {
				firstAt = at
			}
			admitted++
			lastAt = at
		case http.StatusTooManyRequests:
			limited++
			limitedBody, limitedHeader = a.body, a.header
		default:
			t.Fatalf("HTTP %d: %s", a.status, a.body)
		}
	}
	elapsed := lastAt.Sub(firstAt).Seconds()
	want := 25 + 25*elapsed
	t.Logf("admitted %d, limited %d over %.2fs; expected %.1f", admitted, limited, elapsed, want)
	if math.Abs(float64(admitted)-want) > 3 {
		t.Errorf("admitted %d reads in %.2fs, want %.1f ± 3 (burst 25 + 25/s)", admitted, elapsed, want)
	}
	if limited == 0 {
		t.Fatal("no request was rate limited")
	}
	var e struct {
		Error map[string]any `json:"error"`
	}
	if err := json.Unmarshal(limitedBody, &e); err != nil {
		t.Fatalf("429 body: %v: %s", err, limitedBody)
	}
	if e.Error["code"] != "rate_limit" || e.Error["type"] != "invalid_request_error" ||
		!strings.HasPrefix(e.Error["message"].(string), "Request rate limit exceeded.") {
		t.Errorf("429 body %s: want Stripe's rate_limit error", limitedBody)
	}
	if limitedHeader.Get("Stripe-Should-Retry") != "" {
		t.Errorf("Stripe-Should-Retry %q on a rate-limit 429, want none (Stripe's default)", limitedHeader.Get("Stripe-Should-Retry"))
	}
	st := o.Stats()
	if st.RateLimited != uint64(limited) || st.Reads != uint64(admitted+limited) || st.InjectedRateLimited != 0 {
		t.Errorf("stats %+v: want %d rate limited of %d reads", st, limited, admitted+limited)
	}
	// Writes have their own bucket: reads being exhausted does not stop them.
	if a := do(t, http.MethodPost, target, url.Values{"metadata[w]": {"1"}}); a.status != http.StatusOK {
		t.Errorf("write while reads are exhausted: HTTP %d: %s", a.status, a.body)
	}
}

// TestRateLimitExact uses a frozen clock, so buckets never refill: exactly the burst
// gets through, a search counts against both the search limit and the read limit, and
// a request refused by one bucket costs nothing in the other.
func TestRateLimitExact(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := start(t, stripeoverlay.Config{Now: clk.Now, RateLimitShouldRetry: "false"}) // test mode: reads 25, search 20
	wantRetry := "false"
	count := func(u string, n int) (ok int) {
		for range n {
			a := do(t, http.MethodGet, u, nil)
			switch a.status {
			case http.StatusOK:
				ok++
			case http.StatusTooManyRequests:
				if a.header.Get("Stripe-Should-Retry") != wantRetry {
					t.Errorf("Stripe-Should-Retry %q, want %q", a.header.Get("Stripe-Should-Retry"), wantRetry)
				}
			default:
				t.Fatalf("HTTP %d: %s", a.status, a.body)
			}
		}
		return ok
	}
	search := o.URL() + "/v1/customers/search?query=" + url.QueryEscape("email:'a@b.c'")
	if got := count(search, 30); got != 20 {
		t.Errorf("searches admitted %d, want the search limit's 20", got)
	}
	if got := count(o.URL()+"/v1/customers/cus_exact", 10); got != 5 {
		t.Errorf("reads admitted after 20 searches %d, want 25-20 = 5", got)
	}
	clk.Set(clk.Now().Add(time.Second))
	if got := count(o.URL()+"/v1/customers/cus_exact", 40); got != 25 {
		t.Errorf("reads admitted one second later %d, want 25", got)
	}

	// Live mode with overrides, and no Stripe-Should-Retry (the default).
	wantRetry = ""
	o2 := start(t, stripeoverlay.Config{Mode: "live", Now: clk.Now, Limits: &stripeoverlay.Limits{Read: 7, Burst: 3, PerPath: map[string]float64{}}})
	if got := count(o2.URL()+"/v1/prices/price_x", 10); got != 3 {
		t.Errorf("live with Burst 3: admitted %d, want 3", got)
	}
	clk.Set(clk.Now().Add(time.Second))
	if got := count(o2.URL()+"/v1/prices/price_x", 10); got != 3 {
		t.Errorf("live with Burst 3 after 1s at 7/s: admitted %d, want the bucket's 3", got)
	}
}

// TestOriginCountsRateLimits checks that cachecore's StripeOrigin sees the overlay's 429
// as a rate limit.
func TestOriginCountsRateLimits(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o := start(t, stripeoverlay.Config{Now: clk.Now, Limits: &stripeoverlay.Limits{Read: 1, Burst: 1}})
	c := stripeClient(o.URL())
	origin, err := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{Client: c, RateLimit: "none", MaxRetries: 2, BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ref := cachecore.Ref{Object: "customer", ID: "cus_origin_rl"}
	if _, v, _, err := origin.Fetch(ctx, ref); err != nil || v != 1 {
		t.Fatalf("first fetch: version %d, %v", v, err)
	}
	if _, _, _, err := origin.Fetch(ctx, ref); err == nil {
		t.Fatal("second fetch with an empty bucket succeeded")
	}
	st := origin.Stats()
	if st.RateLimited != 3 || st.Retries != 2 {
		t.Errorf("origin stats %+v: want 3 rate-limited calls (1 + 2 retries)", st)
	}
	_, err = c.Customers.Get("cus_origin_rl", nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusTooManyRequests || se.Code != stripe.ErrorCodeRateLimit {
		t.Errorf("stripe-go error %v: want HTTP 429 code rate_limit", err)
	}
}

func TestFaults(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none", Seed: 3})
	c := stripeClient(o.URL())
	target := o.URL() + "/v1/customers/cus_fault"

	clear, err := o.Inject(netsim.Fault{Kind: netsim.KindRateLimit})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		method := http.MethodGet
		if i%2 == 1 {
			method = http.MethodDelete
		}
		if a := do(t, method, target, nil); a.status != http.StatusTooManyRequests {
			t.Fatalf("%s under a 429 storm: HTTP %d", method, a.status)
		}
	}
	_, err = c.Customers.Get("cus_fault", nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 429 || se.Code != stripe.ErrorCodeRateLimit {
		t.Errorf("stripe-go under a 429 storm: %v", err)
	}
	if err := clear(); err != nil {
		t.Fatal(err)
	}
	if err := clear(); err != nil {
		t.Errorf("second clear: %v", err)
	}
	if a := do(t, http.MethodGet, target, nil); a.status != http.StatusOK {
		t.Fatalf("after clearing the storm: HTTP %d", a.status)
	}
	if st := o.Stats(); st.InjectedRateLimited != 11 || st.RateLimited != 11 || o.Version("customer", "cus_fault") != 1 {
		t.Errorf("stats %+v, version %d: want 11 injected 429s and no delete", st, o.Version("customer", "cus_fault"))
	}

	// Errors: Rate 0.3 of 1000 requests; binomial σ ≈ 0.0145, tolerance 4σ.
	const n, rate, tol = 1000, 0.3, 0.06
	clear, err = o.Inject(netsim.Fault{Kind: netsim.KindErrors, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	var failedBody []byte
	for range n {
		a := do(t, http.MethodGet, target, nil)
		switch a.status {
		case http.StatusOK:
		case http.StatusInternalServerError:
			failed++
			failedBody = a.body
		default:
			t.Fatalf("HTTP %d under an errors fault", a.status)
		}
	}
	share := float64(failed) / n
	t.Logf("errors fault at %.2f failed %.3f of %d requests", rate, share, n)
	if math.Abs(share-rate) > tol {
		t.Errorf("errors fault failed %.3f of requests, want %.2f ± %.2f", share, rate, tol)
	}
	if !strings.Contains(string(failedBody), `"type":"api_error"`) {
		t.Errorf("500 body %s: want a Stripe api_error", failedBody)
	}
	if st := o.Stats(); st.InjectedErrors != uint64(failed) {
		t.Errorf("InjectedErrors %d, counted %d", st.InjectedErrors, failed)
	}
	if err := clear(); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if a := do(t, http.MethodGet, target, nil); a.status != http.StatusOK {
			t.Fatalf("after clearing the errors fault: HTTP %d", a.status)
		}
	}

	for _, f := range []netsim.Fault{
		{Kind: netsim.KindLatency, Latency: time.Second},
		{Kind: netsim.KindDown},
		{Kind: netsim.KindErrors, Rate: 0},
		{Kind: netsim.KindErrors, Rate: 1.5},
		{Kind: "meteor"},
	} {
		if _, err := o.Inject(f); err == nil {
			t.Errorf("Inject(%+v): no error", f)
		} else if f.Kind == netsim.KindLatency && !strings.Contains(err.Error(), "proxy") {
			t.Errorf("Inject(latency): %v, want it to point at the proxy", err)
		}
	}
}
