package cachecore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stripe/stripe-go/v76"
	stripeclient "github.com/stripe/stripe-go/v76/client"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/mockstest"
)

// --- against stripe-mock ---

func TestStripeOriginStripeMock(t *testing.T) {
	for _, provider := range []string{mocks.ProviderLocal, mocks.ProviderEmbedded} {
		t.Run(provider, func(t *testing.T) {
			env := mockstest.Start(t, provider)
			o, err := NewStripeOrigin(StripeOriginConfig{Client: env.StripeClient, RateLimit: RateLimitNone})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			ids := map[string]string{
				ObjectCustomer: "cus_origin1", ObjectSubscription: "sub_origin1", ObjectPrice: "price_origin1",
				ObjectInvoice: "in_origin1", ObjectProduct: "prod_origin1",
			}
			for _, obj := range ObjectTypes {
				body, _, _, err := o.Fetch(ctx, Ref{Object: obj, ID: ids[obj]})
				if err != nil {
					t.Fatalf("fetch %s: %v", obj, err)
				}
				var m map[string]any
				if err := json.Unmarshal(body, &m); err != nil {
					t.Fatalf("fetch %s: body is not JSON: %v", obj, err)
				}
				if m["object"] != obj {
					t.Errorf("fetch %s: object = %v", obj, m["object"])
				}
				if id, _ := m["id"].(string); id == "" {
					t.Errorf("fetch %s: no id in %s", obj, body)
				}
			}

			// An expansion comes back expanded: the subscription's customer is an object.
			body, _, _, err := o.Fetch(ctx, Ref{Object: ObjectSubscription, ID: "sub_origin1", Expand: []string{"customer"}})
			if err != nil {
				t.Fatalf("fetch expanded subscription: %v", err)
			}
			var sub struct {
				Customer json.RawMessage `json:"customer"`
			}
			if err := json.Unmarshal(body, &sub); err != nil {
				t.Fatal(err)
			}
			var cus map[string]any
			if err := json.Unmarshal(sub.Customer, &cus); err != nil || cus["object"] != "customer" {
				t.Errorf("expand=customer: customer is %s, want an expanded customer object", sub.Customer)
			}
			// Unexpanded, it is an ID.
			body, _, _, err = o.Fetch(ctx, Ref{Object: ObjectSubscription, ID: "sub_origin1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(body, &sub); err != nil {
				t.Fatal(err)
			}
			var cusID string
			if err := json.Unmarshal(sub.Customer, &cusID); err != nil {
				t.Errorf("unexpanded subscription: customer is %s, want an ID", sub.Customer)
			}

			st := o.Stats()
			want := uint64(len(ObjectTypes) + 2)
			if st.Fetches != want || st.Calls != want || st.Errors != 0 || st.Retries != 0 || st.NotFound != 0 {
				t.Errorf("stats = %+v, want %d fetches and calls, no errors or retries", st, want)
			}
		})
	}
}

// --- against a scripted server ---

// originAnswer is one scripted HTTP answer.
type originAnswer struct {
	status  int
	body    string
	headers map[string]string
}

// originRequest is what the scripted server saw.
type originRequest struct {
	at     time.Time
	method string
	path   string
	query  map[string][]string
}

// originServer answers requests from a script; once the script runs out it repeats the
// last answer.
type originServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	script []originAnswer
	seen   []originRequest
}

func newOriginServer(t *testing.T, script ...originAnswer) *originServer {
	t.Helper()
	s := &originServer{script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, originRequest{at: time.Now(), method: r.Method, path: r.URL.Path, query: r.URL.Query()})
		a := s.script[0]
		if len(s.script) > 1 {
			s.script = s.script[1:]
		}
		s.mu.Unlock()
		for k, v := range a.headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *originServer) requests() []originRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]originRequest(nil), s.seen...)
}

// originClient is a stripe-go client for url built the way mocks.Env builds its own: no
// retries of its own, no logging.
func originClient(url string, hc *http.Client) *stripeclient.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(url),
		HTTPClient:        hc,
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return stripeclient.New(mocks.DefaultStripeKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// originSleeps records the waits between attempts instead of sleeping.
type originSleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *originSleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *originSleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newScriptedOrigin returns an origin on a scripted server, with no limiter unless cfg
// asks for one and with sleeps recorded rather than slept.
func newScriptedOrigin(t *testing.T, cfg StripeOriginConfig, script ...originAnswer) (*StripeOrigin, *originServer, *originSleeps) {
	t.Helper()
	s := newOriginServer(t, script...)
	cfg.Client = originClient(s.srv.URL, s.srv.Client())
	if cfg.RateLimit == "" && cfg.Rate == 0 {
		cfg.RateLimit = RateLimitNone
	}
	o, err := NewStripeOrigin(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sl := &originSleeps{}
	o.sleep = sl.sleep
	return o, s, sl
}

const (
	originCustomerJSON  = `{"id":"cus_1","object":"customer","metadata":{}}`
	originNotFoundJSON  = `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer: 'cus_x'","param":"id"}}`
	originRateLimitJSON = `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`
	originServerErrJSON = `{"error":{"type":"api_error","message":"Something went wrong on Stripe's end."}}`
)

var (
	originOK       = originAnswer{status: 200, body: originCustomerJSON}
	origin429      = originAnswer{status: 429, body: originRateLimitJSON}
	origin500      = originAnswer{status: 500, body: originServerErrJSON}
	originCustomer = Ref{Object: ObjectCustomer, ID: "cus_1"}
)

func originCheckStats(t *testing.T, o *StripeOrigin, want OriginStats) {
	t.Helper()
	got := o.Stats()
	got.LimiterWait = 0
	if got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
}

func TestStripeOriginNotFound(t *testing.T) {
	o, s, sl := newScriptedOrigin(t, StripeOriginConfig{}, originAnswer{status: 404, body: originNotFoundJSON})
	_, _, _, err := o.Fetch(context.Background(), Ref{Object: ObjectCustomer, ID: "cus_x"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	var se *stripe.Error
	if !errors.As(err, &se) || se.Code != stripe.ErrorCodeResourceMissing {
		t.Errorf("err = %v, want the *stripe.Error kept in the chain", err)
	}
	if !strings.HasPrefix(err.Error(), `stripe origin: get customer "cus_x": `) {
		t.Errorf("err = %q, want it to name the object and ID", err)
	}
	if n := len(s.requests()); n != 1 || len(sl.all()) != 0 {
		t.Errorf("%d requests and sleeps %v, want 1 request and no sleep", n, sl.all())
	}
	originCheckStats(t, o, OriginStats{Calls: 1, Fetches: 1, NotFound: 1})
}

func TestStripeOriginDeletedIsNotFound(t *testing.T) {
	o, _, _ := newScriptedOrigin(t, StripeOriginConfig{}, originAnswer{status: 200, body: `{"id":"cus_1","object":"customer","deleted":true}`})
	if _, _, _, err := o.Fetch(context.Background(), originCustomer); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	originCheckStats(t, o, OriginStats{Calls: 1, Fetches: 1, NotFound: 1})
}

func TestStripeOrigin429ThenSuccess(t *testing.T) {
	o, s, sl := newScriptedOrigin(t, StripeOriginConfig{}, origin429, origin429, originOK)
	body, _, _, info, err := o.FetchReport(context.Background(), originCustomer)
	if err != nil {
		t.Fatal(err)
	}
	if want := (FetchInfo{Calls: 3, Retries: 2, RateLimited: 2}); info != want {
		t.Errorf("FetchReport info = %+v, want %+v", info, want)
	}
	if string(body) != originCustomerJSON {
		t.Errorf("body = %s", body)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
	if n := len(sl.all()); n != 2 {
		t.Errorf("%d waits between attempts, want 2", n)
	}
	originCheckStats(t, o, OriginStats{Calls: 3, Fetches: 1, RateLimited: 2, Retries: 2})
}

func TestStripeOriginShouldRetryHeader(t *testing.T) {
	noRetry := map[string]string{"Stripe-Should-Retry": "false"}
	retry := map[string]string{"Stripe-Should-Retry": "true"}
	cases := []struct {
		name   string
		script []originAnswer
		ok     bool
		calls  uint64
		stats  OriginStats
	}{
		{"429 should-retry false", []originAnswer{{429, originRateLimitJSON, noRetry}, originOK}, false, 1,
			OriginStats{Calls: 1, Fetches: 1, RateLimited: 1, Errors: 1}},
		{"500 should-retry false", []originAnswer{{500, originServerErrJSON, noRetry}, originOK}, false, 1,
			OriginStats{Calls: 1, Fetches: 1, Errors: 1}},
		{"409 should-retry true", []originAnswer{{409, `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"conflict"}}`, retry}, originOK}, true, 2,
			OriginStats{Calls: 2, Fetches: 1, Retries: 1}},
		{"400 should-retry true", []originAnswer{{400, `{"error":{"type":"invalid_request_error","message":"try again"}}`, retry}, originOK}, true, 2,
			OriginStats{Calls: 2, Fetches: 1, Retries: 1}},
		{"400 without header", []originAnswer{{400, `{"error":{"type":"invalid_request_error","message":"bad"}}`, nil}, originOK}, false, 1,
			OriginStats{Calls: 1, Fetches: 1, Errors: 1}},
		{"401 without header", []originAnswer{{401, `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided"}}`, nil}, originOK}, false, 1,
			OriginStats{Calls: 1, Fetches: 1, Errors: 1}},
		{"409 without header", []originAnswer{{409, `{"error":{"type":"invalid_request_error","message":"conflict"}}`, nil}, originOK}, true, 2,
			OriginStats{Calls: 2, Fetches: 1, Retries: 1}},
		{"502 that is not JSON", []originAnswer{{502, `<html>bad gateway</html>`, nil}, originOK}, true, 2,
			OriginStats{Calls: 2, Fetches: 1, Retries: 1}},
		{"200 that is not JSON", []originAnswer{{200, `<html>hello</html>`, nil}, originOK}, false, 1,
			OriginStats{Calls: 1, Fetches: 1, Errors: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, s, _ := newScriptedOrigin(t, StripeOriginConfig{}, c.script...)
			_, _, _, info, err := o.FetchReport(context.Background(), originCustomer)
			// What the fetch reports of itself is what it added to the origin's counters.
			if want := (FetchInfo{Calls: uint16(c.stats.Calls), Retries: uint16(c.stats.Retries), RateLimited: uint16(c.stats.RateLimited)}); info != want {
				t.Errorf("FetchReport info = %+v, want %+v", info, want)
			}
			if (err == nil) != c.ok {
				t.Fatalf("err = %v, want success %v", err, c.ok)
			}
			if err != nil && (errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `customer "cus_1"`)) {
				t.Errorf("err = %v", err)
			}
			if n := uint64(len(s.requests())); n != c.calls {
				t.Errorf("%d requests, want %d", n, c.calls)
			}
			originCheckStats(t, o, c.stats)
		})
	}
}

func TestStripeOriginRetriesExhausted(t *testing.T) {
	for _, c := range []struct {
		maxRetries int
		calls      uint64
	}{{0, 4}, {2, 3}, {-1, 1}} {
		t.Run(fmt.Sprint("MaxRetries=", c.maxRetries), func(t *testing.T) {
			o, s, _ := newScriptedOrigin(t, StripeOriginConfig{MaxRetries: c.maxRetries}, origin500)
			_, _, _, err := o.Fetch(context.Background(), originCustomer)
			var se *stripe.Error
			if err == nil || errors.Is(err, ErrNotFound) || !errors.As(err, &se) || se.HTTPStatusCode != 500 {
				t.Fatalf("err = %v, want the 500", err)
			}
			if n := uint64(len(s.requests())); n != c.calls {
				t.Errorf("%d requests, want %d", n, c.calls)
			}
			originCheckStats(t, o, OriginStats{Calls: c.calls, Fetches: 1, Retries: c.calls - 1, Errors: 1})
		})
	}
}

func TestStripeOriginBackoff(t *testing.T) {
	// Full jitter with Rand = 0.5: half of 100ms, 200ms, 400ms (capped at 300ms).
	cfg := StripeOriginConfig{MaxRetries: 3, BaseBackoff: 100 * time.Millisecond, MaxBackoff: 300 * time.Millisecond,
		Rand: func() float64 { return 0.5 }}
	o, _, sl := newScriptedOrigin(t, cfg, origin500, origin500, origin500, originOK)
	if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 150 * time.Millisecond}
	if got := sl.all(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits = %v, want %v", got, want)
	}
}

func TestStripeOriginRetryAfter(t *testing.T) {
	zero := func() float64 { return 0 }
	t.Run("honoured", func(t *testing.T) {
		o, _, sl := newScriptedOrigin(t, StripeOriginConfig{Rand: zero},
			originAnswer{429, originRateLimitJSON, map[string]string{"Retry-After": "1"}}, originOK)
		if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
			t.Fatal(err)
		}
		if got := sl.all(); len(got) != 1 || got[0] != time.Second {
			t.Errorf("waits = %v, want [1s]", got)
		}
	})
	t.Run("capped by MaxBackoff", func(t *testing.T) {
		o, _, sl := newScriptedOrigin(t, StripeOriginConfig{Rand: zero, MaxBackoff: 1500 * time.Millisecond},
			originAnswer{503, originServerErrJSON, map[string]string{"Retry-After": "30"}}, originOK)
		if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
			t.Fatal(err)
		}
		if got := sl.all(); len(got) != 1 || got[0] != 1500*time.Millisecond {
			t.Errorf("waits = %v, want [1.5s]", got)
		}
	})
	t.Run("HTTP date", func(t *testing.T) {
		if d := parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", time.Date(2015, 10, 21, 7, 27, 58, 0, time.UTC)); d != 2*time.Second {
			t.Errorf("parseRetryAfter(date) = %v, want 2s", d)
		}
		for _, h := range []string{"", "soon", "-1", "0"} {
			if d := parseRetryAfter(h, time.Now()); d != 0 {
				t.Errorf("parseRetryAfter(%q) = %v, want 0", h, d)
			}
		}
	})
	t.Run("real wait", func(t *testing.T) {
		o, s, _ := newScriptedOrigin(t, StripeOriginConfig{Rand: zero},
			originAnswer{429, originRateLimitJSON, map[string]string{"Retry-After": "1"}}, originOK)
		o.sleep = sleepContext
		if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
			t.Fatal(err)
		}
		reqs := s.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if gap := reqs[1].at.Sub(reqs[0].at); gap < time.Second {
			t.Errorf("second request came %v after the first, want at least Retry-After 1s", gap)
		}
	})
}

func TestStripeOriginContextCancelledDuringBackoff(t *testing.T) {
	o, s, _ := newScriptedOrigin(t, StripeOriginConfig{BaseBackoff: time.Hour, MaxBackoff: time.Hour,
		Rand: func() float64 { return 0.99 }}, origin500)
	o.sleep = sleepContext // really wait, for about an hour
	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	start := time.Now()
	_, _, _, err := o.Fetch(ctx, originCustomer)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("fetch returned after %v, want soon after the cancel", took)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !strings.Contains(err.Error(), `customer "cus_1"`) || !strings.Contains(err.Error(), "500") {
		t.Errorf("err = %q, want the object, ID and last failure named", err)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
	originCheckStats(t, o, OriginStats{Calls: 1, Fetches: 1, Errors: 1})
}

func TestStripeOriginNetworkErrorRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	l.Close() // nothing listens there now: connection refused
	o, err := NewStripeOrigin(StripeOriginConfig{Client: originClient(url, &http.Client{Timeout: 5 * time.Second}),
		RateLimit: RateLimitNone, MaxRetries: 2})
	if err != nil {
		t.Fatal(err)
	}
	sl := &originSleeps{}
	o.sleep = sl.sleep
	_, _, _, err = o.Fetch(context.Background(), originCustomer)
	if err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want a network error", err)
	}
	if n := len(sl.all()); n != 2 {
		t.Errorf("%d waits, want 2", n)
	}
	originCheckStats(t, o, OriginStats{Calls: 3, Fetches: 1, Retries: 2, Errors: 1})
}

func TestStripeOriginRequest(t *testing.T) {
	o, s, _ := newScriptedOrigin(t, StripeOriginConfig{}, originOK)
	for _, c := range []struct {
		ref  Ref
		path string
	}{
		{Ref{Object: ObjectCustomer, ID: "cus_1", Expand: []string{"default_source", "invoice_settings.default_payment_method"}}, "/v1/customers/cus_1"},
		{Ref{Object: ObjectSubscription, ID: "sub_1", Expand: []string{"customer"}}, "/v1/subscriptions/sub_1"},
		{Ref{Object: ObjectPrice, ID: "price_1"}, "/v1/prices/price_1"},
		{Ref{Object: ObjectInvoice, ID: "in_1"}, "/v1/invoices/in_1"},
		{Ref{Object: ObjectProduct, ID: "prod_1"}, "/v1/products/prod_1"},
	} {
		if _, _, _, err := o.Fetch(context.Background(), c.ref); err != nil {
			t.Fatal(err)
		}
		reqs := s.requests()
		r := reqs[len(reqs)-1]
		if r.method != http.MethodGet || r.path != c.path {
			t.Errorf("%s: request %s %s, want GET %s", c.ref.Key(), r.method, r.path, c.path)
		}
		var expand []string
		for i := 0; ; i++ {
			v, ok := r.query[fmt.Sprintf("expand[%d]", i)]
			if !ok {
				break
			}
			expand = append(expand, v...)
		}
		if fmt.Sprint(expand) != fmt.Sprint(c.ref.Expand) && !(len(expand) == 0 && len(c.ref.Expand) == 0) {
			t.Errorf("%s: expand sent %v (query %v), want %v", c.ref.Key(), expand, r.query, c.ref.Expand)
		}
	}

	// A bad ref makes no request.
	n := len(s.requests())
	if _, _, _, err := o.Fetch(context.Background(), Ref{Object: "charge", ID: "ch_1"}); err == nil {
		t.Error("fetch of an unknown object type succeeded")
	}
	if _, _, _, err := o.Fetch(context.Background(), Ref{Object: ObjectCustomer, ID: "cus/1"}); err == nil {
		t.Error("fetch of a bad ID succeeded")
	}
	if len(s.requests()) != n {
		t.Error("a bad ref made a request")
	}
	if st := o.Stats(); st.Fetches != 7 || st.Errors != 2 || st.Calls != 5 {
		t.Errorf("stats = %+v, want 7 fetches, 5 calls, 2 errors", st)
	}
}

func TestStripeOriginVersion(t *testing.T) {
	// Pretty-printed, to check the bytes come back exactly as sent.
	stamped := "{\n  \"id\": \"cus_1\",\n  \"object\": \"customer\",\n  \"metadata\": {\"cachebench_version\": \"42\", \"other\": \"x\"}\n}\n"
	for _, c := range []struct {
		name    string
		body    string
		version int64
		ok      bool
	}{
		{"stamped", stamped, 42, true},
		{"absent", `{"id":"cus_1","object":"customer","metadata":{"other":"x"}}`, 0, false},
		{"no metadata", `{"id":"cus_1","object":"customer"}`, 0, false},
		{"not an integer", `{"id":"cus_1","object":"customer","metadata":{"cachebench_version":"v42"}}`, 0, false},
		{"large", `{"id":"cus_1","object":"customer","metadata":{"cachebench_version":"1700000000123456789"}}`, 1700000000123456789, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, _, _ := newScriptedOrigin(t, StripeOriginConfig{}, originAnswer{status: 200, body: c.body})
			body, version, ok, err := o.Fetch(context.Background(), originCustomer)
			if err != nil {
				t.Fatal(err)
			}
			if string(body) != c.body {
				t.Errorf("body = %q, want exactly %q", body, c.body)
			}
			if version != c.version || ok != c.ok {
				t.Errorf("version = (%d, %v), want (%d, %v)", version, ok, c.version, c.ok)
			}
		})
	}
}

func TestStripeOriginLimiter(t *testing.T) {
	t.Run("rate 20 burst 1", func(t *testing.T) {
		o, _, _ := newScriptedOrigin(t, StripeOriginConfig{RateLimit: RateLimitTest, Rate: 20, Burst: 1}, originOK)
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for range 30 {
			wg.Go(func() {
				if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		// The first token is there at once; the other 29 come every 50ms.
		if took := time.Since(start); took < 1400*time.Millisecond {
			t.Errorf("30 fetches at 20/s with burst 1 took %v, want at least 1.4s", took)
		}
		if st := o.Stats(); st.LimiterWait <= 0 || st.Calls != 30 {
			t.Errorf("stats = %+v, want 30 calls and some limiter wait", st)
		}
	})
	t.Run("none", func(t *testing.T) {
		o, _, _ := newScriptedOrigin(t, StripeOriginConfig{RateLimit: RateLimitNone}, originOK)
		for range 30 {
			if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
				t.Fatal(err)
			}
		}
		if st := o.Stats(); st.LimiterWait != 0 || st.Calls != 30 {
			t.Errorf("stats = %+v, want 30 calls and no limiter wait", st)
		}
	})
	t.Run("deadline before the token", func(t *testing.T) {
		o, s, _ := newScriptedOrigin(t, StripeOriginConfig{Rate: 1, Burst: 1}, originOK)
		if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, _, _, err := o.Fetch(ctx, originCustomer)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("presets", func(t *testing.T) {
		client := originClient("http://127.0.0.1:1", http.DefaultClient)
		for _, c := range []struct {
			cfg   StripeOriginConfig
			limit float64
			burst int
		}{
			{StripeOriginConfig{}, 25, 25},
			{StripeOriginConfig{RateLimit: RateLimitTest}, 25, 25},
			{StripeOriginConfig{RateLimit: RateLimitLive}, 100, 100},
			{StripeOriginConfig{RateLimit: RateLimitLive, Rate: 7.5}, 7.5, 8},
			{StripeOriginConfig{Burst: 3}, 25, 3},
		} {
			c.cfg.Client = client
			o, err := NewStripeOrigin(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if float64(o.limiter.Limit()) != c.limit || o.limiter.Burst() != c.burst {
				t.Errorf("%+v: limiter %v/s burst %d, want %v/s burst %d", c.cfg, o.limiter.Limit(), o.limiter.Burst(), c.limit, c.burst)
			}
		}
		o, err := NewStripeOrigin(StripeOriginConfig{Client: client, RateLimit: RateLimitNone})
		if err != nil || o.limiter != nil {
			t.Errorf("none: limiter %v, err %v; want no limiter", o.limiter, err)
		}
	})
}

func TestStripeOriginConfigValidate(t *testing.T) {
	client := originClient("http://127.0.0.1:1", http.DefaultClient)
	for _, c := range []struct {
		name string
		cfg  StripeOriginConfig
		want []string
	}{
		{"nil client", StripeOriginConfig{}, []string{"StripeOriginConfig.Client"}},
		{"empty client", StripeOriginConfig{Client: &stripeclient.API{}}, []string{"StripeOriginConfig.Client"}},
		{"unknown preset", StripeOriginConfig{Client: client, RateLimit: "fast"}, []string{"StripeOriginConfig.RateLimit", `"fast"`}},
		{"negative rate", StripeOriginConfig{Client: client, Rate: -1}, []string{"StripeOriginConfig.Rate"}},
		{"negative burst", StripeOriginConfig{Client: client, Burst: -1}, []string{"StripeOriginConfig.Burst"}},
		{"rate without limiter", StripeOriginConfig{Client: client, RateLimit: RateLimitNone, Rate: 5}, []string{"StripeOriginConfig.Rate"}},
		{"negative backoff", StripeOriginConfig{Client: client, BaseBackoff: -1, MaxBackoff: -1}, []string{"StripeOriginConfig.BaseBackoff", "StripeOriginConfig.MaxBackoff"}},
		{"client that retries", StripeOriginConfig{Client: stripeclient.New("sk_test_x", nil)}, []string{"StripeOriginConfig.Client", "MaxNetworkRetries"}},
		{"every problem at once", StripeOriginConfig{RateLimit: "fast", Rate: -1}, []string{"StripeOriginConfig.Client", "StripeOriginConfig.RateLimit", "StripeOriginConfig.Rate "}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := NewStripeOrigin(c.cfg)
			if err == nil || o != nil {
				t.Fatalf("NewStripeOrigin = %v, %v; want an error", o, err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %s", err, w)
				}
			}
		})
	}
	if _, err := NewStripeOrigin(StripeOriginConfig{Client: client}); err != nil {
		t.Errorf("a good config: %v", err)
	}
}

// TestStripeOriginFleetLimiter: two origins sharing a fleet limiter in Redis take turns
// from one budget, so together they wait as one origin at the rate would; neither falls
// back while Redis answers.
func TestStripeOriginFleetLimiter(t *testing.T) {
	mr := miniredis.RunT(t)
	mr.ClockTTL(true)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	cfg := StripeOriginConfig{RateLimit: RateLimitTest, Rate: 50, Burst: 1, Fleet: rdb, FleetKey: "t:limit", FleetShare: 2}
	a, _, _ := newScriptedOrigin(t, cfg, originOK)
	b, _, _ := newScriptedOrigin(t, cfg, originOK)
	a.sleep, b.sleep = sleepContext, sleepContext
	const n = 10
	start := time.Now()
	for i := range n {
		o := a
		if i%2 == 1 {
			o = b
		}
		if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
			t.Fatal(err)
		}
	}
	// One budget of 50/s with a burst of 1: the 10 fetches span at least 9/50 s, which
	// two separate limiters (each at 50/s) would have halved.
	if took, least := time.Since(start), 9*time.Second/50; took < least*9/10 {
		t.Errorf("%d fetches through one fleet budget of 50/s took %v, want at least %v", n, took, least)
	}
	if fa, fb := a.Stats().LimiterFallbacks, b.Stats().LimiterFallbacks; fa+fb != 0 {
		t.Errorf("%d fallbacks with Redis answering", fa+fb)
	}
}

// TestStripeOriginFleetLimiterFallsBack: when the fleet's Redis does not answer, a fetch
// still goes out, under the origin's own share of the limit, and the fallback is counted.
func TestStripeOriginFleetLimiterFallsBack(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { rdb.Close() })
	o, _, _ := newScriptedOrigin(t, StripeOriginConfig{RateLimit: RateLimitTest, Fleet: rdb, FleetShare: 4}, originOK)
	if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil {
		t.Fatalf("fetch with the fleet's Redis down: %v", err)
	}
	if got := o.Stats().LimiterFallbacks; got != 1 {
		t.Errorf("LimiterFallbacks = %d, want 1", got)
	}
	if lim := o.limiter.Limit(); lim != 25.0/4 {
		t.Errorf("fallback share %v/s, want 25/4", lim)
	}
	if _, err := NewStripeOrigin(StripeOriginConfig{Client: o.client, RateLimit: RateLimitNone, Fleet: rdb}); err == nil || !strings.Contains(err.Error(), "no limiter to share") {
		t.Errorf("a fleet without a limiter: err = %v", err)
	}
}

// TestStripeOriginConfigSleep: StripeOriginConfig.Sleep takes the waits between
// attempts (a simulation's clock), and its error ends the fetch.
func TestStripeOriginConfigSleep(t *testing.T) {
	s := newOriginServer(t, origin429, originOK, origin429)
	var waits []time.Duration
	stop := errors.New("simulated deadline")
	fail := false
	o, err := NewStripeOrigin(StripeOriginConfig{
		Client: originClient(s.srv.URL, s.srv.Client()), RateLimit: RateLimitNone,
		Sleep: func(_ context.Context, d time.Duration) error {
			waits = append(waits, d)
			if fail {
				return stop
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := o.Fetch(context.Background(), originCustomer); err != nil || len(waits) != 1 || waits[0] <= 0 {
		t.Fatalf("Fetch = %v with waits %v; want success after one wait", err, waits)
	}
	fail = true
	if _, _, _, err := o.Fetch(context.Background(), originCustomer); !errors.Is(err, stop) {
		t.Errorf("Fetch with a failing Sleep = %v, want its error", err)
	}
}
