package mocks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-mock/embedded"
	"github.com/stripe/stripe-mock/server"
)

var (
	stubOnce sync.Once
	stub     http.Handler
	stubErr  error
)

// stripeMockHandler is stripe-mock's own handler, loaded once per test binary.
func stripeMockHandler(t *testing.T) http.Handler {
	t.Helper()
	stubOnce.Do(func() {
		spec, err := server.LoadSpec(embedded.OpenAPISpec, "")
		if err != nil {
			stubErr = err
			return
		}
		fixtures, err := server.LoadFixtures(embedded.OpenAPIFixtures, "")
		if err != nil {
			stubErr = err
			return
		}
		s, err := server.NewStubServer(fixtures, spec, false, false)
		if err != nil {
			stubErr = err
			return
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/", s.HandleRequest)
		stub = &server.DoubleSlashFixHandler{Mux: mux}
	})
	if stubErr != nil {
		t.Fatalf("stripe-mock: %v", stubErr)
	}
	return stub
}

func answer(t *testing.T, h http.Handler, method, target string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.SetBasicAuth(DefaultStripeKey, "")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// TestMemoAnswersAsStripeMock: for every route, the memoised answer to a GET is byte for
// byte stripe-mock's own, for IDs other than the one it learnt from, and routes it cannot
// memoise are passed through.
func TestMemoAnswersAsStripeMock(t *testing.T) {
	direct := stripeMockHandler(t)
	h := newStubHandler(direct, EmbeddedConfig{}, "test")
	targets := []string{
		"/v1/customers/cus_A1", "/v1/customers/cus_B2", "/v1/customers/cus_cb0000123",
		"/v1/customers/cus_A1?expand[]=default_source", "/v1/customers/cus_Z9?expand[]=default_source",
		"/v1/subscriptions/sub_1", "/v1/subscriptions/sub_2",
		"/v1/prices/price_1", "/v1/prices/price_2",
		"/v1/invoices/in_1", "/v1/invoices/in_2",
		"/v1/products/prod_1", "/v1/products/prod_2",
		"/v1/test_helpers/test_clocks", "/v1/customers/cus_A1/sources", "/v1/balance",
		"/v1/customers/cus_nope/bogus",
	}
	for round := 0; round < 2; round++ {
		for _, target := range targets {
			wantCode, wantBody := answer(t, direct, http.MethodGet, target)
			code, body := answer(t, h, http.MethodGet, target)
			if code != wantCode || body != wantBody {
				t.Fatalf("round %d, GET %s: memo answered %d %.200q; stripe-mock %d %.200q", round, target, code, body, wantCode, wantBody)
			}
		}
	}
	h.mu.RLock()
	kept := 0
	for _, e := range h.cache {
		if !e.pass {
			kept++
		}
	}
	h.mu.RUnlock()
	if kept < 5 {
		t.Errorf("the memo kept %d templates; want one per single-object route (customers, expanded customers, subscriptions, prices, invoices, products)", kept)
	}
}

// TestStandInMeasuresQueue: with one worker and 20 ms per request, a second concurrent
// request waits about 20 ms, and the snapshot's window says so.
func TestStandInMeasuresQueue(t *testing.T) {
	h := newStubHandler(stripeMockHandler(t), EmbeddedConfig{StripeWorkers: 1, StripeDelay: 20 * time.Millisecond}, "test")
	before := h.stats.Snapshot()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := answer(t, h, http.MethodGet, "/v1/customers/cus_Q"); code != http.StatusOK {
				t.Errorf("status %d: %s", code, body)
			}
		}()
	}
	wg.Wait()
	w := h.stats.Snapshot().Sub(before)
	if w.Requests != 3 {
		t.Fatalf("requests %d, want 3", w.Requests)
	}
	if got := w.Handler.ValueAtQuantile(50); got < 20_000 {
		t.Errorf("handler p50 %d µs, want ≥ 20 ms (the injected delay)", got)
	}
	if got := w.Queue.Max(); got < 35_000 {
		t.Errorf("longest wait %d µs, want about 40 ms (the third request waits for two)", got)
	}
	if h.stats.Workers != 1 {
		t.Errorf("workers %d, want 1", h.stats.Workers)
	}
}

// TestOverlayReachesEmbeddedStripeInProcess: the embedded environment's World calls
// stripe-mock without a socket, and the answer is the same as over HTTP.
func TestOverlayReachesEmbeddedStripeInProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := Start(ctx, Config{Provider: ProviderEmbedded})
	if err != nil {
		t.Fatalf("embedded: %v", err)
	}
	defer env.Close(ctx)
	if env.StripeMock == nil || env.stripeHandler == nil {
		t.Fatal("the embedded environment has no in-process stripe-mock")
	}
	tr := handlerTransport{env.stripeHandler}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://in-process/v1/customers/cus_T1", nil)
	req.SetBasicAuth(DefaultStripeKey, "")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	inProc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req2, _ := http.NewRequestWithContext(ctx, http.MethodGet, env.Stripe.URL+"/v1/customers/cus_T1", nil)
	req2.SetBasicAuth(DefaultStripeKey, "")
	resp2, err := http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	overHTTP, _ := io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if resp.StatusCode != http.StatusOK || string(inProc) != string(overHTTP) {
		t.Fatalf("in process %d %.200q; over HTTP %d %.200q", resp.StatusCode, inProc, resp2.StatusCode, overHTTP)
	}
	w, err := NewWorld(ctx, env, WorldConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(ctx)
	if w.upstream != nil {
		t.Error("the overlay of an embedded World dials stripe-mock over a socket")
	}
	if _, err := env.StripeClient.Customers.Get("cus_T2", nil); err != nil {
		t.Fatal(err)
	}
	sc := w.StripeClient(w.HTTPClient())
	before := env.StripeMock.Snapshot()
	if c, err := sc.Customers.Get("cus_T3", nil); err != nil || c.ID != "cus_T3" {
		t.Fatalf("through the overlay: %v, %+v", err, c)
	}
	if n := env.StripeMock.Snapshot().Sub(before).Requests; n != 1 {
		t.Errorf("stripe-mock counted %d requests through the overlay, want 1", n)
	}
}
