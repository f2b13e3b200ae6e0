package stripeoverlay_test

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

func decodeEvent(t *testing.T, payload []byte) stripe.Event {
	t.Helper()
	var ev stripe.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("event payload: %v: %s", err, payload)
	}
	return ev
}

func TestEvents(t *testing.T) {
	const secret = "whsec_test_events"
	rec := &recorder{}
	var (
		urlMu  sync.Mutex
		urlGot []stripe.Event
	)
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEvent(payload, r.Header.Get("Stripe-Signature"), secret)
		if err != nil {
			t.Errorf("URL subscriber: ConstructEvent: %v", err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		urlMu.Lock()
		urlGot = append(urlGot, ev)
		urlMu.Unlock()
	}))
	defer endpoint.Close()

	o := start(t, stripeoverlay.Config{Mode: "none", Webhook: stripeoverlay.WebhookConfig{Secret: secret}})
	o.Subscribe(rec.deliver)
	if err := o.SubscribeURL(endpoint.URL + "/webhooks"); err != nil {
		t.Fatal(err)
	}
	if o.WebhookSecret() != secret {
		t.Errorf("WebhookSecret() = %q", o.WebhookSecret())
	}
	c := stripeClient(o.URL())
	const id = "cus_events"

	p := &stripe.CustomerParams{Name: stripe.String("N")}
	p.AddMetadata("a", "1")
	p.SetIdempotencyKey("idem-1")
	cus, err := c.Customers.Update(id, p)
	if err != nil {
		t.Fatal(err)
	}
	reqID := cus.LastResponse.RequestID
	p = &stripe.CustomerParams{}
	p.AddMetadata("a", "2")
	if _, err := c.Customers.Update(id, p); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Update(context.Background(), "customer", id, map[string]string{"a": "", "b": "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Customers.Del(id, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, o)

	type want struct {
		typ     string
		version string
		prev    map[string]any
	}
	wants := []want{
		{"customer.updated", "2", map[string]any{"metadata": map[string]any{"a": nil}, "name": nil}},
		{"customer.updated", "3", map[string]any{"metadata": map[string]any{"a": "1"}}},
		{"customer.updated", "4", map[string]any{"metadata": map[string]any{"a": "2", "b": nil}}},
		{"customer.deleted", "5", nil},
	}
	got := rec.all()
	if len(got) != len(wants) {
		t.Fatalf("in-process subscriber got %d events, want %d", len(got), len(wants))
	}
	for i, d := range got {
		ev, err := webhook.ConstructEvent(d.payload, d.signature, secret)
		if err != nil {
			t.Fatalf("event %d: ConstructEvent: %v", i, err)
		}
		if _, err := webhook.ConstructEvent(d.payload, d.signature, "whsec_wrong"); err == nil {
			t.Errorf("event %d verifies with the wrong secret", i)
		}
		w := wants[i]
		if string(ev.Type) != w.typ || ev.Object != "event" || ev.APIVersion != stripe.APIVersion || ev.Livemode ||
			ev.PendingWebhooks != 2 || len(ev.ID) < 10 || ev.ID[:4] != "evt_" || ev.Created == 0 {
			t.Errorf("event %d: type %s object %s api_version %s livemode %v pending %d id %s created %d",
				i, ev.Type, ev.Object, ev.APIVersion, ev.Livemode, ev.PendingWebhooks, ev.ID, ev.Created)
		}
		if ev.Data.Object["id"] != id || ev.Data.Object["object"] != "customer" {
			t.Errorf("event %d: data.object id %v object %v", i, ev.Data.Object["id"], ev.Data.Object["object"])
		}
		md, _ := ev.Data.Object["metadata"].(map[string]any)
		if md[stripeoverlay.VersionMetadataKey] != w.version {
			t.Errorf("event %d: data.object version %v, want %s", i, md[stripeoverlay.VersionMetadataKey], w.version)
		}
		if !reflect.DeepEqual(ev.Data.PreviousAttributes, w.prev) {
			t.Errorf("event %d: previous_attributes %#v, want %#v", i, ev.Data.PreviousAttributes, w.prev)
		}
		if i == 0 && (ev.Request == nil || ev.Request.ID != reqID || ev.Request.IdempotencyKey != "idem-1") {
			t.Errorf("event 0: request %+v, want id %s and idempotency key idem-1", ev.Request, reqID)
		}
		if i == 2 && ev.Request != nil && ev.Request.ID != "" {
			t.Errorf("event 2 (from Update): request id %q, want null", ev.Request.ID)
		}
	}
	// The state after the change: data.object of event 0 holds the new metadata.
	if md := decodeEvent(t, got[0].payload).Data.Object["metadata"].(map[string]any); md["a"] != "1" {
		t.Errorf("event 0: data.object metadata %v, want a=1", md)
	}
	urlMu.Lock()
	if len(urlGot) != len(wants) {
		t.Errorf("URL subscriber got %d events, want %d", len(urlGot), len(wants))
	}
	urlMu.Unlock()
	st := o.Stats()
	if st.EventsEmitted != 4 || st.EventsDelivered != 8 || st.EventsFailed != 0 || st.EventsDropped != 0 {
		t.Errorf("stats %+v: want 4 emitted, 8 delivered", st)
	}

	if err := o.SubscribeURL("http://example.com/hook"); err == nil {
		t.Error("SubscribeURL accepted a non-loopback host")
	}
	if err := o.SubscribeURL("ftp://127.0.0.1/hook"); err == nil {
		t.Error("SubscribeURL accepted ftp")
	}
}

func TestFailedDeliveriesAreCounted(t *testing.T) {
	rec := &recorder{fail: true}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer endpoint.Close()
	o := start(t, stripeoverlay.Config{Mode: "none"})
	o.Subscribe(rec.deliver)
	if err := o.SubscribeURL(endpoint.URL); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := o.Update(context.Background(), "product", "prod_fail", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, o)
	if st := o.Stats(); st.EventsFailed != 6 || st.EventsDelivered != 0 {
		t.Errorf("stats %+v: want 6 failed deliveries", st)
	}
}

func TestCloseDropsUndelivered(t *testing.T) {
	rec := &recorder{}
	cfg := stripeoverlay.Config{Upstream: upstream, Mode: "none", Webhook: stripeoverlay.WebhookConfig{Delay: time.Hour}}
	o, err := stripeoverlay.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	o.Subscribe(rec.deliver)
	ctx := context.Background()
	for i := range 3 {
		if _, err := o.Update(ctx, "customer", "cus_close", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := o.Close(cctx); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(cctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A change after Close still works (it is the harness's), but its event is dropped.
	if _, err := o.Update(ctx, "customer", "cus_close", map[string]string{"i": "late"}); err != nil {
		t.Fatal(err)
	}
	st := o.Stats()
	if st.EventsEmitted != 4 || st.EventsDropped != 4 || st.EventsDelivered != 0 || len(rec.all()) != 0 {
		t.Errorf("stats %+v, %d received: want 4 emitted and 4 dropped", st, len(rec.all()))
	}
	if err := o.Start(); err == nil {
		t.Error("Start after Close: no error")
	}
}

// TestDuplicateAndReorderRates sends 1200 events through the real update path with
// zero delay and checks the shares of duplicated and reordered events against the
// settings. Tolerances are about 4 standard deviations: a duplicate is a Bernoulli(0.1)
// draw per event, σ = sqrt(0.1·0.9/1200) ≈ 0.009; reordering is a two-state chain with
// a similar spread.
func TestDuplicateAndReorderRates(t *testing.T) {
	const (
		n       = 1200
		dupP    = 0.10
		reorder = 0.10
		tol     = 0.035
	)
	var (
		mu    sync.Mutex
		order []int64 // versions in delivery order
	)
	o := start(t, stripeoverlay.Config{Mode: "none", Seed: 7, Webhook: stripeoverlay.WebhookConfig{Duplicates: dupP, Reorder: reorder}})
	o.Subscribe(func(_ context.Context, payload []byte, _ string) error {
		var ev struct {
			Data struct {
				Object struct {
					Metadata map[string]string `json:"metadata"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(payload, &ev); err != nil {
			return err
		}
		v, err := strconv.ParseInt(ev.Data.Object.Metadata[stripeoverlay.VersionMetadataKey], 10, 64)
		if err != nil {
			return err
		}
		mu.Lock()
		order = append(order, v)
		mu.Unlock()
		return nil
	})
	ctx := context.Background()
	for i := range n {
		if _, err := o.Update(ctx, "customer", "cus_rates", map[string]string{"i": strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, o)

	mu.Lock()
	defer mu.Unlock()
	first := map[int64]int{} // version → position of its first delivery
	dups := 0
	for pos, v := range order {
		if _, seen := first[v]; seen {
			dups++
			continue
		}
		first[v] = pos
	}
	if len(first) != n {
		t.Fatalf("%d distinct events delivered, want %d", len(first), n)
	}
	reordered := 0
	for v := int64(2); v < n+1; v++ { // versions 2..n+1; v is reordered if it came after v+1
		if first[v] > first[v+1] {
			reordered++
		}
	}
	st := o.Stats()
	dupShare, reShare := float64(dups)/n, float64(reordered)/n
	t.Logf("%d events: duplicated %.3f (want %.2f), reordered %.3f (want %.2f); stats %+v", n, dupShare, dupP, reShare, reorder, st)
	if math.Abs(dupShare-dupP) > tol {
		t.Errorf("duplicate share %.3f, want %.2f ± %.3f", dupShare, dupP, tol)
	}
	if math.Abs(reShare-reorder) > tol {
		t.Errorf("reorder share %.3f, want %.2f ± %.3f", reShare, reorder, tol)
	}
	if st.EventsDuplicated != uint64(dups) || st.EventsReordered != uint64(reordered) || st.EventsDelivered != uint64(len(order)) || st.EventsEmitted != n {
		t.Errorf("counters %+v disagree with what the subscriber saw: %d deliveries, %d duplicates, %d reordered", st, len(order), dups, reordered)
	}
}

func TestDelayAndJitter(t *testing.T) {
	const (
		delay  = 150 * time.Millisecond
		jitter = 50 * time.Millisecond
	)
	var (
		mu   sync.Mutex
		lags []time.Duration
	)
	sent := map[string]time.Time{}
	o := start(t, stripeoverlay.Config{Mode: "none", Webhook: stripeoverlay.WebhookConfig{Delay: delay, Jitter: jitter}})
	o.Subscribe(func(_ context.Context, payload []byte, _ string) error {
		ev := decodeEvent(t, payload)
		md := ev.Data.Object["metadata"].(map[string]any)
		mu.Lock()
		lags = append(lags, time.Since(sent[md["i"].(string)]))
		mu.Unlock()
		return nil
	})
	for i := range 20 {
		k := strconv.Itoa(i)
		mu.Lock()
		sent[k] = time.Now()
		mu.Unlock()
		if _, err := o.Update(context.Background(), "price", "price_delay", map[string]string{"i": k}); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, o)
	mu.Lock()
	defer mu.Unlock()
	if len(lags) != 20 {
		t.Fatalf("%d deliveries, want 20", len(lags))
	}
	var sum time.Duration
	for _, l := range lags {
		// The lag is measured from before the update, so it can exceed Delay+Jitter by
		// the update's own time; it can never be shorter than Delay-Jitter.
		if l < delay-jitter || l > delay+jitter+time.Second {
			t.Errorf("delivery lag %v outside [%v, %v]", l, delay-jitter, delay+jitter+time.Second)
		}
		sum += l
	}
	t.Logf("mean lag %v (delay %v ± %v)", sum/20, delay, jitter)
}
