package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/cachebench/cachebench/mocks"
	"github.com/cachebench/cachebench/mocks/netsim"
	"github.com/cachebench/cachebench/mocks/stripeoverlay"
	"github.com/cachebench/cachebench/scenarios"
)

// Environment variables of a shard's webhook endpoint (see the package documentation,
// Sharded runs).
const (
	// WebhookListenVar is the address the endpoint listens on; default 127.0.0.1:0.
	WebhookListenVar = "CACHEBENCH_WEBHOOK_LISTEN"
	// WebhookURLVar is the URL the Stripe overlay service POSTs events to; default
	// http:// and the address listened on.
	WebhookURLVar = "CACHEBENCH_WEBHOOK_URL"
)

// sharedStripe is a shard's link to its run's overlay in the Stripe overlay service
// that `cachebench env up` serves: the one set of versions every shard reads, shard 0's
// updates go to, and the stale reads of every shard are judged against.
type sharedStripe struct {
	remote *stripeoverlay.Remote
	url    string // the service's URL, for notes
	hook   *http.Server

	mu      sync.Mutex
	pending []pendingRead
}

// pendingRead is a measured read whose staleness is judged at the end of the run, when
// the whole history is known.
type pendingRead struct {
	object, id string
	version    int64
	end        time.Time
}

// needsSharedStripe reports whether shard sh of s must share its Stripe overlay with
// the other shards: the run changes Stripe objects (ops.update, or a trace, which may
// hold updates), so every shard must see one set of versions.
func needsSharedStripe(s *scenarios.Scenario, sh Shard) bool {
	return sh.sharded() && (s.Ops.Update > 0 || s.Keys.Trace != "")
}

// openSharedStripe joins (or makes) the run's overlay in the service at env's Stripe
// URL with the scenario's overlay config cfg. It returns nil, nil when the run needs no
// shared overlay, or a trace without ops.update cannot have one (no service, or
// keys.trace_sizes): its trace may have no updates, and setup refuses it when it has.
func openSharedStripe(ctx context.Context, s *scenarios.Scenario, env *mocks.Env, sh Shard, runID string, cfg stripeoverlay.Config) (*sharedStripe, error) {
	if !needsSharedStripe(s, sh) {
		return nil, nil
	}
	svc := stripeoverlay.IsService(ctx, env.Stripe.URL, nil)
	if s.Ops.Update == 0 && (!svc || s.Keys.TraceSizes) {
		return nil, nil // a trace: setup refuses it if it has updates
	}
	if !svc {
		return nil, fmt.Errorf("ops.update %v: in a sharded run only shard 0 makes updates, and every shard must read and judge staleness against one Stripe overlay, but %s is not the Stripe overlay service: start the services with 'cachebench env up' and give every shard the CACHEBENCH_STRIPE_URL it prints (or set ops.update=0, or run one process)", s.Ops.Update, env.Stripe.URL)
	}
	var errs []error
	for _, f := range s.Faults {
		if f.Target == mocks.ServiceStripe && (f.Kind == netsim.KindRateLimit || f.Kind == netsim.KindErrors) {
			errs = append(errs, fmt.Errorf("faults: %s on stripe: the shards of a run with updates share the Stripe overlay service, which takes no injected faults yet; use a network fault kind on stripe, or run one process", f.Kind))
			break
		}
	}
	if s.Keys.Trace != "" && s.Keys.TraceSizes {
		errs = append(errs, errors.New("keys.trace_sizes: the shards of a run with updates share the Stripe overlay service, which does not take a trace's sizes yet; set keys.trace_sizes=false or run one process"))
	}
	if runID == "" {
		errs = append(errs, errors.New("a sharded run with updates needs a run ID shared by its shards (cachebench run derives it from --start-at)"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	remote, err := stripeoverlay.Dial(ctx, env.Stripe.URL, runID, stripeoverlay.RunConfigFrom(cfg), nil)
	if err != nil {
		return nil, err
	}
	return &sharedStripe{remote: remote, url: env.Stripe.URL}, nil
}

// receive serves a webhook endpoint that hands every event to fn and registers it with
// the run's overlay. Its address comes from WebhookListenVar and WebhookURLVar.
func (ss *sharedStripe) receive(ctx context.Context, fn func(ctx context.Context, payload []byte, sig string) error) error {
	listen := os.Getenv(WebhookListenVar)
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("webhook endpoint: listen on %s: %w (fix %s)", listen, err, WebhookListenVar)
	}
	ss.hook = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		payload, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
		if err == nil {
			err = fn(r.Context(), payload, r.Header.Get("Stripe-Signature"))
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	})}
	go func() { _ = ss.hook.Serve(l) }()
	endpoint := os.Getenv(WebhookURLVar)
	if endpoint == "" {
		endpoint = "http://" + l.Addr().String() + "/"
	}
	if err := ss.remote.SubscribeURL(ctx, endpoint); err != nil {
		return fmt.Errorf("webhook endpoint %s: %w (set %s to a URL the Stripe overlay service reaches)", endpoint, err, WebhookURLVar)
	}
	return nil
}

// later notes a measured read to judge at the end of the run.
func (ss *sharedStripe) later(object, id string, version int64, end time.Time) {
	ss.mu.Lock()
	ss.pending = append(ss.pending, pendingRead{object: object, id: id, version: version, end: end})
	ss.mu.Unlock()
}

// judge fetches the run's whole history and judges every pending read against it,
// adding the checked and stale reads to the collector's totals and its timeline's
// seconds (by when each read ended).
func (ss *sharedStripe) judge(ctx context.Context, c *collector) error {
	hs, err := ss.remote.History(ctx)
	if err != nil {
		return err
	}
	ss.mu.Lock()
	pending := ss.pending
	ss.pending = nil
	ss.mu.Unlock()
	byTS := make(map[int]int, len(c.timeline))
	for i, sec := range c.timeline {
		byTS[sec.TS] = i
	}
	t := c.total
	for _, p := range pending {
		v := hs.Check(p.object, p.id, p.version, p.end)
		if !v.Known {
			continue
		}
		t.c.checked++
		if v.Current {
			continue
		}
		t.c.stale++
		_ = t.stale.RecordValue(min(max(v.StaleBy.Milliseconds(), 1), staleMaxMS))
		sec := int(p.end.Sub(c.r.measured) / time.Second)
		if i, ok := byTS[sec]; ok {
			c.timeline[i].StaleReads++
		} else if n := len(c.timeline); n > 0 {
			c.timeline[n-1].StaleReads++
		}
	}
	return nil
}

// close stops the webhook endpoint; it may be called more than once.
func (ss *sharedStripe) close() {
	if ss.hook != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = ss.hook.Shutdown(ctx)
	}
}
