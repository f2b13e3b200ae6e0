package stripeoverlay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"github.com/cachebench/cachebench/cachecore"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  stripeoverlay.Config
		want []string // substrings of the error; none means valid
	}{
		{"minimal", stripeoverlay.Config{Upstream: "http://127.0.0.1:1"}, nil},
		{"live with overrides", stripeoverlay.Config{Upstream: "http://127.0.0.1:1", Mode: "live",
			Limits: &stripeoverlay.Limits{Read: 10, Burst: 3, PerPath: map[string]float64{"/v1/*/search": 5}}}, nil},
		{"missing upstream", stripeoverlay.Config{}, []string{"Upstream is required"}},
		{"every problem at once", stripeoverlay.Config{
			Upstream: "ftp://x", Mode: "sandbox", RateLimitShouldRetry: "maybe",
			Limits:  &stripeoverlay.Limits{Read: -1, Write: -2, Burst: -3, PerPath: map[string]float64{"v1/[": 0}},
			Webhook: stripeoverlay.WebhookConfig{Delay: -1, Jitter: -1, Duplicates: 1.5, Reorder: 0.6, MaxHold: -1, Timeout: -1, MaxPending: -1},
		}, []string{"Upstream \"ftp://x\"", "Mode \"sandbox\"", "Limits.Read", "Limits.Write", "Limits.Burst",
			"PerPath pattern", "PerPath[", "RateLimitShouldRetry", "Webhook.Delay", "Webhook.Jitter",
			"Webhook.Duplicates", "Webhook.Reorder", "Webhook.MaxHold", "Webhook.Timeout", "Webhook.MaxPending"}},
		{"limits without a limiter", stripeoverlay.Config{Upstream: "http://127.0.0.1:1", Mode: "none", Limits: &stripeoverlay.Limits{}},
			[]string{"Limits is set but Mode is \"none\""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if _, err := stripeoverlay.New(tt.cfg); err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate accepted a bad config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not mention %q:\n%v", w, err)
				}
			}
			if _, err := stripeoverlay.New(tt.cfg); err == nil {
				t.Error("New accepted a bad config")
			}
		})
	}
}

// TestGetStampsEveryKind checks what stripe-mock does with IDs (it echoes the one asked
// for) and that every versioned kind comes back stamped with version 1.
func TestGetStampsEveryKind(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none"})
	ids := map[string]string{
		"customer": "cus_stamp", "subscription": "sub_stamp", "price": "price_stamp", "invoice": "in_stamp",
		"product": "prod_stamp", "coupon": "co_stamp", "plan": "plan_stamp", "charge": "ch_stamp",
	}
	if got := stripeoverlay.ObjectTypes(); len(got) != len(ids) {
		t.Fatalf("ObjectTypes() = %v, want the %d kinds tested here", got, len(ids))
	}
	for _, typ := range stripeoverlay.ObjectTypes() {
		id := ids[typ]
		a := do(t, http.MethodGet, o.URL()+"/v1/"+typ+"s/"+id, nil)
		if a.status != http.StatusOK {
			t.Fatalf("GET %s %s: HTTP %d: %s", typ, id, a.status, a.body)
		}
		obj := a.json(t)
		if obj["id"] != id || obj["object"] != typ {
			t.Errorf("GET %s %s: got id %v object %v: stripe-mock did not echo the ID", typ, id, obj["id"], obj["object"])
		}
		if v := metadataOf(t, obj)[stripeoverlay.VersionMetadataKey]; v != "1" {
			t.Errorf("GET %s %s: metadata version %#v, want \"1\"", typ, id, v)
		}
		if h := a.header.Get(stripeoverlay.HeaderVersion); h != "1" {
			t.Errorf("GET %s %s: %s header %q, want 1", typ, id, stripeoverlay.HeaderVersion, h)
		}
		if h := a.header.Get(stripeoverlay.HeaderObject); h != typ+"/"+id {
			t.Errorf("GET %s %s: %s header %q", typ, id, stripeoverlay.HeaderObject, h)
		}
		if rid := a.header.Get("Request-Id"); !strings.HasPrefix(rid, "req_") || rid == "req_123" {
			t.Errorf("Request-Id %q: want the overlay's own", rid)
		}
	}
	if cachecore.VersionMetadataKey != stripeoverlay.VersionMetadataKey {
		t.Fatalf("version keys differ: cachecore %q, overlay %q", cachecore.VersionMetadataKey, stripeoverlay.VersionMetadataKey)
	}
}

func TestUpdateThenGet(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none"})
	c := stripeClient(o.URL())
	const id = "cus_update"

	cus, err := c.Customers.Get(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cus.Metadata[stripeoverlay.VersionMetadataKey] != "1" || cus.LastResponse.Header.Get(stripeoverlay.HeaderVersion) != "1" {
		t.Fatalf("fresh customer: metadata %v, header %q; want version 1", cus.Metadata, cus.LastResponse.Header.Get(stripeoverlay.HeaderVersion))
	}

	p := &stripe.CustomerParams{Name: stripe.String("Ada Lovelace"), Email: stripe.String("ada@example.com"), Balance: stripe.Int64(42)}
	p.AddMetadata("tier", "gold")
	p.AddMetadata("n", "1")
	p.AddMetadata(stripeoverlay.VersionMetadataKey, "999") // the overlay's key: ignored
	cus, err = c.Customers.Update(id, p)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string, cus *stripe.Customer, version string, md map[string]string) {
		t.Helper()
		want := map[string]string{stripeoverlay.VersionMetadataKey: version}
		for k, v := range md {
			want[k] = v
		}
		if len(cus.Metadata) != len(want) {
			t.Errorf("%s: metadata %v, want %v", step, cus.Metadata, want)
		}
		for k, v := range want {
			if cus.Metadata[k] != v {
				t.Errorf("%s: metadata[%s] = %q, want %q (all: %v)", step, k, cus.Metadata[k], v, cus.Metadata)
			}
		}
		if h := cus.LastResponse.Header.Get(stripeoverlay.HeaderVersion); h != version {
			t.Errorf("%s: version header %q, want %s", step, h, version)
		}
		if cus.Name != "Ada Lovelace" || cus.Email != "ada@example.com" || cus.Balance != 42 {
			t.Errorf("%s: name %q email %q balance %d: the update's fields were not kept", step, cus.Name, cus.Email, cus.Balance)
		}
	}
	check("update 1", cus, "2", map[string]string{"tier": "gold", "n": "1"})
	cus, err = c.Customers.Get(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("get after update 1", cus, "2", map[string]string{"tier": "gold", "n": "1"})

	p = &stripe.CustomerParams{}
	p.AddMetadata("n", "") // Stripe: an empty value deletes the key
	if cus, err = c.Customers.Update(id, p); err != nil {
		t.Fatal(err)
	}
	check("update 2 (delete key)", cus, "3", map[string]string{"tier": "gold"})

	p = &stripe.CustomerParams{}
	p.AddMetadata("tier", "gold") // no change: no new version
	if cus, err = c.Customers.Update(id, p); err != nil {
		t.Fatal(err)
	}
	check("update 3 (no change)", cus, "3", map[string]string{"tier": "gold"})

	v, err := o.Update(context.Background(), "customer", id, map[string]string{"tier": "silver"})
	if err != nil || v != 4 {
		t.Fatalf("Update: version %d, %v; want 4", v, err)
	}
	cus, err = c.Customers.Get(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	check("get after Update", cus, "4", map[string]string{"tier": "silver"})
	if got := o.Version("customer", id); got != 4 {
		t.Errorf("Version = %d, want 4", got)
	}

	// The other kinds the cache reads, through their stripe-go services.
	ctx := context.Background()
	for _, tc := range []struct {
		typ, id string
		update  func() (map[string]string, error)
		get     func() (map[string]string, error)
	}{
		{"subscription", "sub_update", func() (map[string]string, error) {
			p := &stripe.SubscriptionParams{}
			p.AddMetadata("k", "v")
			s, err := c.Subscriptions.Update("sub_update", p)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}, func() (map[string]string, error) {
			s, err := c.Subscriptions.Get("sub_update", nil)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}},
		{"price", "price_update", func() (map[string]string, error) {
			p := &stripe.PriceParams{}
			p.AddMetadata("k", "v")
			s, err := c.Prices.Update("price_update", p)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}, func() (map[string]string, error) {
			s, err := c.Prices.Get("price_update", nil)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}},
		{"invoice", "in_update", func() (map[string]string, error) {
			p := &stripe.InvoiceParams{}
			p.AddMetadata("k", "v")
			s, err := c.Invoices.Update("in_update", p)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}, func() (map[string]string, error) {
			s, err := c.Invoices.Get("in_update", nil)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}},
		{"product", "prod_update", func() (map[string]string, error) {
			p := &stripe.ProductParams{}
			p.AddMetadata("k", "v")
			s, err := c.Products.Update("prod_update", p)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}, func() (map[string]string, error) {
			s, err := c.Products.Get("prod_update", nil)
			return metadataOrNil(s, err, func() map[string]string { return s.Metadata })
		}},
	} {
		for _, step := range []struct {
			name string
			f    func() (map[string]string, error)
		}{{"update", tc.update}, {"get", tc.get}} {
			md, err := step.f()
			if err != nil {
				t.Fatalf("%s %s: %v", step.name, tc.typ, err)
			}
			if md["k"] != "v" || md[stripeoverlay.VersionMetadataKey] != "2" {
				t.Errorf("%s %s: metadata %v, want k=v and version 2", step.name, tc.typ, md)
			}
		}
		if v := o.Version(tc.typ, tc.id); v != 2 {
			t.Errorf("Version(%s) = %d, want 2", tc.typ, v)
		}
	}

	// stripe-mock's validation still applies; a refused update makes no version.
	a := do(t, http.MethodPost, o.URL()+"/v1/customers/"+id, url.Values{"no_such_param": {"x"}})
	if a.status != http.StatusBadRequest {
		t.Errorf("invalid update: HTTP %d, want stripe-mock's 400: %s", a.status, a.body)
	}
	if _, err := o.Update(ctx, "customer", id, map[string]string{strings.Repeat("k", 41): "v"}); err == nil {
		t.Error("Update with a 41-character metadata key: no error from stripe-mock's validation")
	}
	many := map[string]string{}
	for i := range 50 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	if _, err := o.Update(ctx, "customer", id, many); err == nil || !strings.Contains(err.Error(), "at most 50 keys") {
		t.Errorf("Update to 51 metadata keys: %v, want the 50-key limit", err)
	}
	if got := o.Version("customer", id); got != 4 {
		t.Errorf("Version after refused updates = %d, want 4", got)
	}
	if _, err := o.Update(ctx, "widget", "w_1", nil); err == nil {
		t.Error("Update of an unknown type: no error")
	}
	if st := o.Stats(); st.Updates != 7 {
		t.Errorf("Stats().Updates = %d, want 7 (3 customer, 4 other kinds)", st.Updates)
	}
}

func metadataOrNil[T any](v *T, err error, md func() map[string]string) (map[string]string, error) {
	if err != nil || v == nil {
		return nil, err
	}
	return md(), nil
}

func TestDelete(t *testing.T) {
	rec := &recorder{}
	o := start(t, stripeoverlay.Config{Mode: "none"})
	o.Subscribe(rec.deliver)
	c := stripeClient(o.URL())
	ctx := context.Background()

	// Customer: Stripe's deleted stub from then on, and cachecore calls it not found.
	if _, err := o.Update(ctx, "customer", "cus_del", map[string]string{"a": "1"}); err != nil {
		t.Fatal(err)
	}
	del, err := c.Customers.Del("cus_del", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !del.Deleted || del.ID != "cus_del" || del.LastResponse.Header.Get(stripeoverlay.HeaderVersion) != "3" {
		t.Errorf("delete answer: deleted %v id %q version header %q", del.Deleted, del.ID, del.LastResponse.Header.Get(stripeoverlay.HeaderVersion))
	}
	a := do(t, http.MethodGet, o.URL()+"/v1/customers/cus_del", nil)
	if obj := a.json(t); a.status != http.StatusOK || obj["deleted"] != true || obj["id"] != "cus_del" || obj["object"] != "customer" || len(obj) != 3 {
		t.Errorf("GET deleted customer: HTTP %d %s; want Stripe's deleted stub", a.status, a.body)
	}
	origin, err := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{Client: c, RateLimit: "none", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := origin.Fetch(ctx, cachecore.Ref{Object: "customer", ID: "cus_del"}); !errors.Is(err, cachecore.ErrNotFound) {
		t.Errorf("cachecore Fetch of a deleted customer: %v, want ErrNotFound", err)
	}
	p := &stripe.CustomerParams{}
	p.AddMetadata("a", "2")
	_, err = c.Customers.Update("cus_del", p)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing {
		t.Errorf("update of a deleted customer: %v, want 404 resource_missing", err)
	}
	if _, err := o.Update(ctx, "customer", "cus_del", map[string]string{"a": "3"}); !errors.Is(err, stripeoverlay.ErrDeleted) {
		t.Errorf("Update of a deleted customer: %v, want ErrDeleted", err)
	}

	// Product: 404 resource_missing from then on.
	if v, err := o.Delete(ctx, "product", "prod_del"); err != nil || v != 2 {
		t.Fatalf("Delete product: %d, %v", v, err)
	}
	_, err = c.Products.Get("prod_del", nil)
	if !errors.As(err, &se) || se.HTTPStatusCode != 404 || se.Code != stripe.ErrorCodeResourceMissing || !strings.Contains(se.Msg, "No such product: 'prod_del'") {
		t.Errorf("GET deleted product: %v, want 404 resource_missing", err)
	}

	// Subscription: DELETE cancels it; it stays readable, canceled.
	sub, err := c.Subscriptions.Cancel("sub_del", nil)
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != stripe.SubscriptionStatusCanceled || sub.Metadata[stripeoverlay.VersionMetadataKey] != "2" {
		t.Errorf("cancel answer: status %q metadata %v", sub.Status, sub.Metadata)
	}
	if sub, err = c.Subscriptions.Get("sub_del", nil); err != nil || sub.Status != stripe.SubscriptionStatusCanceled {
		t.Errorf("GET canceled subscription: %v, %v", sub, err)
	}

	// Prices cannot be deleted: stripe-mock's answer passes through, no version.
	if a := do(t, http.MethodDelete, o.URL()+"/v1/prices/price_del", nil); a.status != http.StatusNotFound {
		t.Errorf("DELETE price: HTTP %d: %s", a.status, a.body)
	}
	if _, err := o.Delete(ctx, "price", "price_del"); err == nil {
		t.Error("Delete price: no error")
	}
	if v := o.Version("price", "price_del"); v != 1 {
		t.Errorf("price version %d after a refused delete, want 1", v)
	}

	drain(t, o)
	var types []string
	for _, d := range rec.all() {
		ev := decodeEvent(t, d.payload)
		types = append(types, string(ev.Type))
	}
	want := []string{"customer.updated", "customer.deleted", "product.deleted", "customer.subscription.deleted"}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Errorf("events %v, want %v", types, want)
	}
	if st := o.Stats(); st.Deletes != 3 {
		t.Errorf("Stats().Deletes = %d, want 3", st.Deletes)
	}
}

// TestOriginReadsVersion checks that cachecore's StripeOrigin reads the stamped version.
func TestOriginReadsVersion(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none"})
	origin, err := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{Client: stripeClient(o.URL()), RateLimit: "none"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		_, v, ok, err := origin.Fetch(ctx, cachecore.Ref{Object: "invoice", ID: "in_origin"})
		if err != nil || !ok || v != want {
			t.Fatalf("Fetch: version %d ok %v err %v; want %d", v, ok, err, want)
		}
		if _, err := o.Update(ctx, "invoice", "in_origin", map[string]string{"step": string(rune('a' + want))}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestListStamping(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none"})
	list := func() []any {
		a := do(t, http.MethodGet, o.URL()+"/v1/customers?limit=3", nil)
		if a.status != http.StatusOK {
			t.Fatalf("list: HTTP %d: %s", a.status, a.body)
		}
		data, _ := a.json(t)["data"].([]any)
		return data
	}
	data := list()
	if len(data) == 0 {
		t.Fatal("stripe-mock's list is empty")
	}
	first := data[0].(map[string]any)
	id := first["id"].(string)
	if v := metadataOf(t, first)[stripeoverlay.VersionMetadataKey]; v != "1" {
		t.Errorf("list item version %v, want 1", v)
	}
	if _, err := o.Update(context.Background(), "customer", id, map[string]string{"seen": "yes"}); err != nil {
		t.Fatal(err)
	}
	md := metadataOf(t, list()[0].(map[string]any))
	if md["seen"] != "yes" || md[stripeoverlay.VersionMetadataKey] != "2" {
		t.Errorf("list item after update: metadata %v", md)
	}
	if _, err := o.Delete(context.Background(), "customer", id); err != nil {
		t.Fatal(err)
	}
	for _, item := range list() {
		if item.(map[string]any)["id"] == id {
			t.Errorf("deleted customer %s still listed", id)
		}
	}
	// Other answers pass through untouched.
	if a := do(t, http.MethodGet, o.URL()+"/v1/balance", nil); a.status != http.StatusOK || !strings.Contains(string(a.body), `"object":"balance"`) {
		t.Errorf("GET /v1/balance: HTTP %d: %s", a.status, a.body)
	}
	if a := do(t, http.MethodGet, o.URL()+"/v1/no_such_thing/x", nil); a.status != http.StatusNotFound {
		t.Errorf("unknown path: HTTP %d", a.status)
	}
}

func TestUpstreamDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close()
	o, err := stripeoverlay.New(stripeoverlay.Config{Upstream: dead, Mode: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(); err != nil {
		t.Fatal(err)
	}
	defer o.Close(context.Background())
	if err := o.Start(); err == nil {
		t.Error("second Start: no error")
	}
	_, err = stripeClient(o.URL()).Customers.Get("cus_x", nil)
	var se *stripe.Error
	if !errors.As(err, &se) || se.HTTPStatusCode != http.StatusBadGateway || se.Type != stripe.ErrorTypeAPI {
		t.Errorf("GET with stripe-mock down: %v, want a 502 api_error", err)
	}
	if st := o.Stats(); st.UpstreamErrors != 1 {
		t.Errorf("UpstreamErrors = %d, want 1", st.UpstreamErrors)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := o.Update(ctx, "customer", "cus_x", map[string]string{"a": "b"}); err == nil {
		t.Error("Update with stripe-mock down: no error")
	}
}

// TestConcurrentChanges updates one object from several goroutines while others read
// it: every version is made exactly once, events carry each version once and in order
// (one object's changes are serialised), and reads never go backwards.
func TestConcurrentChanges(t *testing.T) {
	const writers, perWriter, readers = 4, 30, 2
	var (
		mu       sync.Mutex
		versions []int64
	)
	o := start(t, stripeoverlay.Config{Mode: "none"})
	o.Subscribe(func(_ context.Context, payload []byte, _ string) error {
		var ev stripe.Event
		if err := json.Unmarshal(payload, &ev); err != nil {
			return err
		}
		v, err := strconv.ParseInt(ev.Data.Object["metadata"].(map[string]any)[stripeoverlay.VersionMetadataKey].(string), 10, 64)
		if err != nil {
			return err
		}
		mu.Lock()
		versions = append(versions, v)
		mu.Unlock()
		return nil
	})
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				if _, err := o.Update(ctx, "subscription", "sub_conc", map[string]string{fmt.Sprint("w", w): fmt.Sprint(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var rwg sync.WaitGroup
	for range readers {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			last := int64(0)
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, err := doErr(http.MethodGet, o.URL()+"/v1/subscriptions/sub_conc", nil)
				if err != nil {
					t.Error(err)
					return
				}
				v, _ := strconv.ParseInt(a.header.Get(stripeoverlay.HeaderVersion), 10, 64)
				if a.status != http.StatusOK || v < last {
					t.Errorf("read: HTTP %d version %d after %d", a.status, v, last)
					return
				}
				last = v
			}
		}()
	}
	wg.Wait()
	close(stop)
	rwg.Wait()
	drain(t, o)

	const want = writers*perWriter + 1
	if v := o.Version("subscription", "sub_conc"); v != want {
		t.Errorf("Version = %d, want %d", v, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(versions) != want-1 {
		t.Fatalf("%d events, want %d", len(versions), want-1)
	}
	for i, v := range versions {
		if v != int64(i+2) {
			t.Fatalf("event %d carries version %d, want %d (events out of order or repeated)", i, v, i+2)
		}
	}
}

// TestSetSizes: an object given a size is answered padded to exactly that many bytes,
// still a valid Stripe object with its version; one given a size below its own is
// answered as it is and counted; the cache reads the padded object's version.
func TestSetSizes(t *testing.T) {
	o := start(t, stripeoverlay.Config{Mode: "none"})
	o.SetSizes(func(object, id string) int {
		switch id {
		case "cus_big":
			return 20_000
		case "cus_small":
			return 10
		}
		return 0
	})
	ctx := context.Background()
	if _, err := o.Update(ctx, "customer", "cus_big", map[string]string{"step": "a"}); err != nil {
		t.Fatal(err)
	}
	origin, err := cachecore.NewStripeOrigin(cachecore.StripeOriginConfig{Client: stripeClient(o.URL()), RateLimit: "none"})
	if err != nil {
		t.Fatal(err)
	}
	body, v, ok, err := origin.Fetch(ctx, cachecore.Ref{Object: "customer", ID: "cus_big"})
	if err != nil || !ok || v != 2 {
		t.Fatalf("Fetch cus_big: version %d ok %v err %v; want version 2", v, ok, err)
	}
	if len(body) != 20_000 {
		t.Errorf("cus_big is %d bytes, want 20000", len(body))
	}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err != nil || obj["id"] != "cus_big" || obj[stripeoverlay.PadField] == nil {
		t.Errorf("cus_big: %v; want a customer with its pad field (%v)", err, obj["id"])
	}
	small, _, _, err := origin.Fetch(ctx, cachecore.Ref{Object: "customer", ID: "cus_small"})
	if err != nil || len(small) <= 10 || strings.Contains(string(small), stripeoverlay.PadField) {
		t.Errorf("cus_small: %d bytes, err %v; want the object unpadded", len(small), err)
	}
	plain, _, _, err := origin.Fetch(ctx, cachecore.Ref{Object: "customer", ID: "cus_plain"})
	if err != nil || strings.Contains(string(plain), stripeoverlay.PadField) {
		t.Errorf("cus_plain: err %v, padded %v; want it as stripe-mock made it", err, strings.Contains(string(plain), stripeoverlay.PadField))
	}
	if st := o.Stats(); st.Padded != 1 || st.OverSize != 1 {
		t.Errorf("stats: %d padded, %d over size; want 1 and 1", st.Padded, st.OverSize)
	}
}
