package stripeoverlay

import (
	"bytes"
	"container/heap"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// eventRequest is an event's "request": the API request that caused it. Both are empty
// for changes made through Update and Delete (Stripe's "automatic" events have null).
type eventRequest struct {
	ID             string
	IdempotencyKey string
}

// eventBody is a Stripe event as sent to webhook endpoints.
type eventBody struct {
	ID              string    `json:"id"`
	Object          string    `json:"object"`
	APIVersion      string    `json:"api_version"`
	Created         int64     `json:"created"`
	Data            eventData `json:"data"`
	Livemode        bool      `json:"livemode"`
	PendingWebhooks int       `json:"pending_webhooks"`
	Request         struct {
		ID             *string `json:"id"`
		IdempotencyKey *string `json:"idempotency_key"`
	} `json:"request"`
	Type string `json:"type"`
}

type eventData struct {
	Object             map[string]any `json:"object"`
	PreviousAttributes map[string]any `json:"previous_attributes,omitempty"`
}

// event is one emitted event, signed afresh at each delivery as Stripe does.
type event struct {
	id      string
	payload []byte
}

// emit sends an event about obj (already rendered and stamped; it is only read from now
// on) to every subscriber.
func (o *Overlay) emit(typ string, obj, prev map[string]any, created time.Time, req eventRequest) {
	subs := o.hub.subscribers()
	ev := eventBody{
		ID:              o.newID("evt_", 24),
		Object:          "event",
		APIVersion:      stripe.APIVersion,
		Created:         created.Unix(),
		Data:            eventData{Object: obj, PreviousAttributes: prev},
		PendingWebhooks: len(subs),
		Type:            typ,
	}
	if req.ID != "" {
		ev.Request.ID = &req.ID
	}
	if req.IdempotencyKey != "" {
		ev.Request.IdempotencyKey = &req.IdempotencyKey
	}
	payload, err := encodeJSON(ev)
	if err != nil {
		// A fixture that decoded must encode; count the event as dropped if it does not.
		o.stats.emitted.Add(1)
		o.stats.dropped.Add(uint64(len(subs)))
		return
	}
	o.stats.emitted.Add(1)
	e := &event{id: ev.ID, payload: payload}
	for _, s := range subs {
		s.enqueue(e)
	}
}

// Subscribe adds an in-process webhook endpoint: fn gets every event emitted from now
// on, as the JSON payload Stripe would POST and its Stripe-Signature header, which
// stripe-go's webhook.ConstructEvent verifies with WebhookConfig.Secret. fn is called
// from one goroutine per subscriber, one event at a time, with a context that ends after
// WebhookConfig.Timeout or at Close; an error counts as a failed delivery (not retried).
func (o *Overlay) Subscribe(fn func(ctx context.Context, payload []byte, signature string) error) {
	o.hub.add(fn)
}

// SubscribeURL adds a webhook endpoint that is POSTed every event emitted from now on,
// with the Stripe-Signature header, as Stripe does. The URL must be http(s) on a
// loopback address; any answer but 2xx counts as a failed delivery (not retried).
func (o *Overlay) SubscribeURL(endpoint string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("stripeoverlay: subscribe %q: %w", endpoint, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("stripeoverlay: subscribe %q: want an http or https URL", endpoint)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("stripeoverlay: subscribe %q: the endpoint must be on a loopback address (127.0.0.1, ::1 or localhost)", endpoint)
	}
	o.hub.add(poster(o.client, endpoint))
	return nil
}

// Sign returns the Stripe-Signature header for payload signed at t with secret:
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<payload>">".
func Sign(payload []byte, secret string, t time.Time) string {
	return "t=" + strconv.FormatInt(t.Unix(), 10) + ",v1=" + hex.EncodeToString(webhook.ComputeSignature(t, payload, secret))
}

// Drain waits until every event emitted so far has been delivered (or has failed, or
// was dropped), or ctx ends. An event held for reordering waits at most
// WebhookConfig.MaxHold for a next one. With WebhookConfig.Manual nothing delivers
// meanwhile, so Drain returns at once: nil when nothing is pending, else an error.
func (o *Overlay) Drain(ctx context.Context) error {
	if o.cfg.Webhook.Manual && !o.hub.idle() {
		return errors.New("stripeoverlay: drain: with Webhook.Manual events wait for Deliver; call it with the instant to deliver up to")
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if o.hub.idle() {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stripeoverlay: drain: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// hub holds the subscribers and their delivery goroutines.
type hub struct {
	o      *Overlay
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.RWMutex
	subs   []*subscriber
	closed bool
}

func newHub(o *Overlay) *hub {
	ctx, cancel := context.WithCancel(context.Background())
	return &hub{o: o, ctx: ctx, cancel: cancel}
}

func (h *hub) subscribers() []*subscriber {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.subs
}

func (h *hub) add(fn func(ctx context.Context, payload []byte, signature string) error) {
	s := &subscriber{h: h, deliver: fn, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.subs = append(h.subs[:len(h.subs):len(h.subs)], s) // a new slice: readers keep theirs
	if h.o.cfg.Webhook.Manual {
		return // Deliver sends
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		s.run()
	}()
}

// now is the clock deliveries are due on: the overlay's with WebhookConfig.Manual, else
// the real clock the delivery goroutines sleep on.
func (h *hub) now() time.Time {
	if h.o.cfg.Webhook.Manual {
		return h.o.now()
	}
	return time.Now()
}

func (h *hub) idle() bool {
	for _, s := range h.subscribers() {
		s.mu.Lock()
		busy := len(s.queue) > 0 || s.held != nil || s.inflight
		s.mu.Unlock()
		if busy {
			return false
		}
	}
	return true
}

// close stops every delivery goroutine and counts what they had not delivered.
func (h *hub) close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.mu.Unlock()
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("stripeoverlay: stop webhook delivery: %w", ctx.Err())
	}
	for _, s := range subs {
		s.mu.Lock()
		n := len(s.queue)
		if s.held != nil {
			n++
		}
		s.queue, s.held = nil, nil
		s.mu.Unlock()
		h.o.stats.dropped.Add(uint64(n))
	}
	return nil
}

// delivery is one event on its way to one subscriber.
type delivery struct {
	ev  *event
	due time.Time
	seq uint64 // orders deliveries due at the same time
}

type deliveryHeap []*delivery

func (q deliveryHeap) Len() int { return len(q) }
func (q deliveryHeap) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}
func (q deliveryHeap) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *deliveryHeap) Push(x any)   { *q = append(*q, x.(*delivery)) }
func (q *deliveryHeap) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return d
}

// subscriber is one endpoint with its queue of deliveries, sent one at a time in
// order of due time.
type subscriber struct {
	h       *hub
	deliver func(ctx context.Context, payload []byte, signature string) error
	wake    chan struct{}

	mu       sync.Mutex
	queue    deliveryHeap
	seq      uint64
	held     *delivery // an event waiting to go after the next one
	heldAt   time.Time
	inflight bool
}

// delay draws one delivery delay.
func (s *subscriber) delay() time.Duration {
	w := s.h.o.cfg.Webhook
	d := w.Delay
	if w.Jitter > 0 {
		d += time.Duration((2*s.h.o.rand() - 1) * float64(w.Jitter))
	}
	return max(d, 0)
}

// push schedules d, and a duplicate of it with the configured probability. The caller
// holds s.mu.
func (s *subscriber) push(d *delivery) {
	s.seq++
	d.seq = s.seq
	heap.Push(&s.queue, d)
	w := s.h.o.cfg.Webhook
	if w.Duplicates > 0 && s.h.o.rand() < w.Duplicates {
		s.seq++
		heap.Push(&s.queue, &delivery{ev: d.ev, due: d.due.Add(s.delay()), seq: s.seq})
		s.h.o.stats.duplicated.Add(1)
	}
}

// enqueue schedules an event: after its delay, except that a held event goes right
// after it, and the event itself may be held for the next one.
func (s *subscriber) enqueue(ev *event) {
	s.mu.Lock()
	defer func() {
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}()
	w := s.h.o.cfg.Webhook
	pending := len(s.queue)
	if s.held != nil {
		pending++
	}
	if s.h.isClosed() || pending >= w.MaxPending {
		s.h.o.stats.dropped.Add(1)
		return
	}
	now := s.h.now()
	d := &delivery{ev: ev, due: now.Add(s.delay())}
	switch {
	case s.held != nil:
		held := s.held
		s.held = nil
		s.push(d)
		if held.due.Before(d.due) {
			held.due = d.due
		}
		s.push(held) // same due time, later seq: right after d
		s.h.o.stats.reordered.Add(1)
	case w.Reorder > 0 && s.h.o.rand() < w.Reorder/(1-w.Reorder):
		// An event can be held only while none is, so holding with probability
		// q = p/(1-p) makes the long-run share of held events q/(1+q) = p.
		s.held = d
		s.heldAt = now
	default:
		s.push(d)
	}
}

func (h *hub) isClosed() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.closed
}

// nextLocked returns the delivery due at now, taken off the queue, after releasing a
// held event whose hold has ended (it goes in order then); or nil and how long until one
// may be due, -1 when none is pending. The caller holds s.mu.
func (s *subscriber) nextLocked(now time.Time) (*delivery, time.Duration) {
	maxHold := s.h.o.cfg.Webhook.MaxHold
	if s.held != nil && now.Sub(s.heldAt) >= maxHold {
		held := s.held // no next event came: deliver in order
		s.held = nil
		s.push(held)
	}
	if len(s.queue) > 0 && !s.queue[0].due.After(now) {
		return heap.Pop(&s.queue).(*delivery), 0
	}
	wait := time.Duration(-1)
	if len(s.queue) > 0 {
		wait = s.queue[0].due.Sub(now)
	}
	if s.held != nil {
		if hw := s.heldAt.Add(maxHold).Sub(now); wait < 0 || hw < wait {
			wait = hw
		}
	}
	return nil, wait
}

// run delivers the subscriber's events until the hub closes.
func (s *subscriber) run() {
	ctx := s.h.ctx
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		var next *delivery
		for next == nil {
			if ctx.Err() != nil {
				s.mu.Unlock()
				return
			}
			var wait time.Duration
			if next, wait = s.nextLocked(time.Now()); next != nil {
				s.inflight = true
				break
			}
			s.mu.Unlock()
			var tc <-chan time.Time
			if wait >= 0 {
				timer.Reset(wait)
				tc = timer.C
			}
			select {
			case <-s.wake:
			case <-tc:
			case <-ctx.Done():
			}
			if tc != nil && !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			s.mu.Lock()
		}
		s.mu.Unlock()

		s.send(ctx, next)

		s.mu.Lock()
		s.inflight = false
		s.mu.Unlock()
	}
}

// NextDelivery returns, with WebhookConfig.Manual, the instant of the Config.Now clock
// at which Deliver next has something to do: the earliest delivery due, or the end of a
// hold (an event held for reordering that no next event followed goes out in order
// then). ok is false when nothing is pending, and always without Manual.
func (o *Overlay) NextDelivery() (at time.Time, ok bool) {
	if !o.cfg.Webhook.Manual {
		return time.Time{}, false
	}
	for _, s := range o.hub.subscribers() {
		s.mu.Lock()
		if len(s.queue) > 0 && (!ok || s.queue[0].due.Before(at)) {
			at, ok = s.queue[0].due, true
		}
		if s.held != nil {
			if end := s.heldAt.Add(o.cfg.Webhook.MaxHold); !ok || end.Before(at) {
				at, ok = end, true
			}
		}
		s.mu.Unlock()
	}
	return at, ok
}

// Deliver sends, with WebhookConfig.Manual, every delivery due at or before now on the
// Config.Now clock, each subscriber's in order of due time, from the caller's goroutine,
// and returns how many it sent (failed ones included). A hold that has ended by now
// releases its event first. ctx bounds the deliveries, as the overlay's own does
// without Manual. Without Manual it is an error: the overlay's goroutines deliver.
func (o *Overlay) Deliver(ctx context.Context, now time.Time) (int, error) {
	if !o.cfg.Webhook.Manual {
		return 0, errors.New("stripeoverlay: deliver: the overlay delivers events itself; set WebhookConfig.Manual to deliver them from the caller")
	}
	n := 0
	for _, s := range o.hub.subscribers() {
		for {
			s.mu.Lock()
			d, _ := s.nextLocked(now)
			s.inflight = d != nil
			s.mu.Unlock()
			if d == nil {
				break
			}
			s.send(ctx, d)
			n++
			s.mu.Lock()
			s.inflight = false
			s.mu.Unlock()
		}
	}
	if err := ctx.Err(); err != nil {
		return n, fmt.Errorf("stripeoverlay: deliver: %w", err)
	}
	return n, nil
}

// send makes one delivery, signed now.
func (s *subscriber) send(ctx context.Context, d *delivery) {
	o := s.h.o
	sig := Sign(d.ev.payload, o.cfg.Webhook.Secret, time.Now())
	dctx, cancel := context.WithTimeout(ctx, o.cfg.Webhook.Timeout)
	defer cancel()
	if err := s.deliver(dctx, d.ev.payload, sig); err != nil {
		o.stats.failed.Add(1)
		return
	}
	o.stats.delivered.Add(1)
}

// poster is a subscriber that POSTs each event to endpoint as Stripe does, signed in
// Stripe-Signature; any answer but 2xx is a failed delivery (not retried).
func poster(client *http.Client, endpoint string) func(ctx context.Context, payload []byte, signature string) error {
	return func(ctx context.Context, payload []byte, signature string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(payload))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
		req.Header.Set("Stripe-Signature", signature)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("webhook endpoint %s answered HTTP %d", endpoint, resp.StatusCode)
		}
		return nil
	}
}
