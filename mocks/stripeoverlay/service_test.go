package stripeoverlay_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

// startService returns a started Service in front of stripe-mock, closed when t ends.
func startService(t *testing.T) *stripeoverlay.Service {
	t.Helper()
	s, err := stripeoverlay.NewService(stripeoverlay.ServiceConfig{Upstream: upstream})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

// TestServiceSharedRun has two clients (two shards) join one run: an update made through
// one is seen, stamped, by a read through the other's Stripe URL, is delivered signed to
// a webhook endpoint registered by the other, and is in the history both fetch, which
// judges the read of the old version stale and the new one current.
func TestServiceSharedRun(t *testing.T) {
	s := startService(t)
	ctx := context.Background()
	rc := stripeoverlay.RunConfig{Mode: "none", WebhookDelay: "1ms"}
	a, err := stripeoverlay.Dial(ctx, s.URL(), "run-1", rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := stripeoverlay.Dial(ctx, s.URL(), "run-1", rc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.StripeURL() != b.StripeURL() || a.WebhookSecret() == "" || a.WebhookSecret() != b.WebhookSecret() {
		t.Fatalf("joined run differs: %q %q / secret %q %q", a.StripeURL(), b.StripeURL(), a.WebhookSecret(), b.WebhookSecret())
	}

	var mu sync.Mutex
	var got []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEvent(payload, r.Header.Get("Stripe-Signature"), b.WebhookSecret())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, string(ev.Type)+" "+ev.GetObjectValue("metadata", stripeoverlay.VersionMetadataKey))
		mu.Unlock()
	}))
	defer hook.Close()
	if err := b.SubscribeURL(ctx, hook.URL); err != nil {
		t.Fatal(err)
	}

	before := time.Now()
	read := func() int64 {
		ans := do(t, http.MethodGet, b.StripeURL()+"/v1/customers/cus_shared", nil)
		v, err := strconv.ParseInt(ans.header.Get("Cachebench-Version"), 10, 64)
		if err != nil || ans.status != http.StatusOK {
			t.Fatalf("read: HTTP %d, version %q", ans.status, ans.header.Get("Cachebench-Version"))
		}
		return v
	}
	if v := read(); v != 1 {
		t.Fatalf("version before the update = %d, want 1", v)
	}
	v, err := a.Update(ctx, "customer", "cus_shared", map[string]string{"k": "v"})
	if err != nil || v != 2 {
		t.Fatalf("update = %d, %v; want 2", v, err)
	}
	if v := read(); v != 2 {
		t.Fatalf("the other client read version %d after the update, want 2", v)
	}
	after := time.Now()

	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if len(got) != 1 || got[0] != "customer.updated 2" {
		t.Errorf("webhook deliveries = %q, want [customer.updated 2]", got)
	}
	mu.Unlock()

	hs, err := b.History(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hs.Len() != 1 {
		t.Errorf("history has %d changed objects, want 1", hs.Len())
	}
	if v := hs.Check("customer", "cus_shared", 1, before); !v.Known || !v.Current {
		t.Errorf("version 1 before the update: %+v, want current", v)
	}
	if v := hs.Check("customer", "cus_shared", 1, after); !v.Known || v.Current || v.CurrentVersion != 2 || v.StaleBy <= 0 {
		t.Errorf("version 1 after the update: %+v, want stale behind version 2", v)
	}
	if v := hs.Check("customer", "cus_shared", 2, after); !v.Current {
		t.Errorf("version 2 after the update: %+v, want current", v)
	}
	if v := hs.Check("customer", "cus_other", 1, after); !v.Known || !v.Current {
		t.Errorf("an object never changed: %+v, want version 1 current", v)
	}
}

// TestServiceErrors checks that the API refuses what it cannot do with an error naming
// the fix, and passes Stripe paths outside it to stripe-mock.
func TestServiceErrors(t *testing.T) {
	s := startService(t)
	ctx := context.Background()
	if _, err := stripeoverlay.Dial(ctx, upstream, "run-x", stripeoverlay.RunConfig{}, nil); err == nil || !strings.Contains(err.Error(), "cachebench env up") {
		t.Errorf("dialing stripe-mock itself: %v, want an error naming cachebench env up", err)
	}
	if _, err := stripeoverlay.Dial(ctx, s.URL(), "run-2", stripeoverlay.RunConfig{Mode: "none"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stripeoverlay.Dial(ctx, s.URL(), "run-2", stripeoverlay.RunConfig{Mode: "live"}, nil); err == nil || !strings.Contains(err.Error(), "another config") {
		t.Errorf("joining with another config: %v, want a conflict", err)
	}
	if _, err := stripeoverlay.Dial(ctx, s.URL(), "../x", stripeoverlay.RunConfig{}, nil); err == nil {
		t.Error("a run name with a slash was accepted")
	}
	if _, err := stripeoverlay.Dial(ctx, s.URL(), "run-3", stripeoverlay.RunConfig{WebhookDelay: "soon"}, nil); err == nil || !strings.Contains(err.Error(), "webhook_delay") {
		t.Errorf("a bad delay: %v, want an error naming webhook_delay", err)
	}
	if !stripeoverlay.IsService(ctx, s.URL(), nil) || stripeoverlay.IsService(ctx, upstream, nil) {
		t.Error("IsService cannot tell the service from stripe-mock")
	}
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/v1/customers/cus_1", http.StatusOK}, // passed to stripe-mock
		{http.MethodGet, stripeoverlay.APIPrefix + "/runs/nope/history", http.StatusNotFound},
		{http.MethodGet, stripeoverlay.APIPrefix + "/runs/run-2", http.StatusMethodNotAllowed},
		{http.MethodGet, stripeoverlay.APIPrefix + "/nothing", http.StatusNotFound},
	} {
		if ans := do(t, c.method, s.URL()+c.path, nil); ans.status != c.want {
			t.Errorf("%s %s: HTTP %d, want %d", c.method, c.path, ans.status, c.want)
		}
	}
	r, err := stripeoverlay.Dial(ctx, s.URL(), "run-2", stripeoverlay.RunConfig{Mode: "none"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Update(ctx, "planet", "p_1", map[string]string{"a": "b"}); err == nil || !strings.Contains(err.Error(), "unknown object type") {
		t.Errorf("update of an unknown type: %v", err)
	}
	if err := r.SubscribeURL(ctx, "ftp://x"); err == nil {
		t.Error("an ftp webhook endpoint was accepted")
	}
}

// FuzzParseRunConfig: any input is a RunConfig Config accepts, or an error; never a
// panic.
func FuzzParseRunConfig(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"mode":"test","seed":3,"read":12.5,"write":12.5,"search":10}`,
		`{"webhook_delay":"1s","webhook_jitter":"100ms","webhook_duplicates":0.01,"webhook_reorder":0.1}`,
		`{"webhook_delay":"-1s"}`, `{"mode":"sandbox"}`, `{"read":-1}`, `{"extra":1}`, `[`, `{"webhook_reorder":0.9}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rc, err := stripeoverlay.ParseRunConfig(b)
		if err != nil {
			return
		}
		if _, err := rc.Config(); err != nil {
			t.Fatalf("parsed %q but Config refuses it: %v", b, err)
		}
	})
}

// FuzzParseHistory: any input is a history whose Check answers, or an error.
func FuzzParseHistory(f *testing.F) {
	for _, s := range []string{
		`{"started":"2026-01-01T00:00:00Z","objects":[]}`,
		`{"started":"2026-01-01T00:00:00Z","objects":[{"object":"customer","id":"cus_1","changes":[{"version":1,"at":"2026-01-01T00:00:00Z"},{"version":2,"at":"2026-01-01T00:00:01Z","deleted":true}]}]}`,
		`{"started":"2026-01-01T00:00:00Z","objects":[{"object":"customer","id":"cus_1","changes":[{"version":2,"at":"2026-01-01T00:00:00Z"}]}]}`,
		`{"objects":[{"object":"planet","id":"p","changes":[{"version":1}]}]}`, `{"objects":null}`, `{`,
	} {
		f.Add([]byte(s))
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 500e6, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := stripeoverlay.ParseHistory(b)
		if err != nil {
			return
		}
		for v := int64(0); v < 4; v++ {
			hs.Check("customer", "cus_1", v, at)
		}
	})
}
