package stripeoverlay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachebench/cachebench/mocks/netsim"
)

// maxBody bounds the request and upstream response bodies the overlay reads.
const maxBody = 32 << 20

// ErrDeleted is returned by Update and Delete for an object that was deleted.
var ErrDeleted = errors.New("stripeoverlay: object is deleted")

// Overlay is a stateful, rate-limited Stripe API in front of stripe-mock: an
// http.Handler (and, after Start, a loopback server) that versions objects, remembers
// updates, stamps versions, emits signed webhook events and answers 429 like Stripe.
// It is safe for concurrent use.
type Overlay struct {
	cfg       Config
	upstream  *url.URL
	client    *http.Client
	ownClient bool
	now       func() time.Time
	started   time.Time
	limiter   *limiter

	rngMu sync.Mutex
	rng   *rand.Rand

	mu      sync.RWMutex // guards objects and the guarded fields of every objState
	objects map[objKey]*objState

	faultMu  sync.RWMutex
	faults   map[uint64]netsim.Fault
	faultSeq uint64

	hub *hub

	srvMu  sync.Mutex
	srv    *http.Server
	url    string
	closed bool

	stats counters

	sizes atomic.Pointer[func(object, id string) int] // SetSizes
}

// counters are the overlay's counters; Stats reads them.
type counters struct {
	requests, reads, writes                        atomic.Uint64
	rateLimited, injectedRateLimited, injectedErrs atomic.Uint64
	upstreamErrors, updates, deletes               atomic.Uint64
	emitted, delivered, duplicated, reordered      atomic.Uint64
	failed, dropped                                atomic.Uint64
	padded, overSize                               atomic.Uint64
}

// New returns an Overlay for cfg, or an error naming every problem in cfg. It does not
// contact the upstream; Start listens, or use the Overlay as an http.Handler.
func New(cfg Config) (*Overlay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(strings.TrimRight(cfg.Upstream, "/"))
	if cfg.Mode == "" {
		cfg.Mode = ModeTest
	}
	if cfg.APIKey == "" {
		cfg.APIKey = DefaultAPIKey
	}
	w := &cfg.Webhook
	if w.Secret == "" {
		w.Secret = DefaultSecret
	}
	if w.MaxHold == 0 {
		w.MaxHold = DefaultMaxHold
	}
	if w.Timeout == 0 {
		w.Timeout = DefaultTimeout
	}
	if w.MaxPending == 0 {
		w.MaxPending = DefaultMaxPending
	}
	o := &Overlay{
		cfg:      cfg,
		upstream: u,
		client:   cfg.HTTPClient,
		now:      cfg.Now,
		limiter:  newLimiter(limitsFor(cfg.Mode, cfg.Limits)),
		rng:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		objects:  map[objKey]*objState{},
		faults:   map[uint64]netsim.Fault{},
	}
	if o.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 256
		o.client = &http.Client{Timeout: 30 * time.Second, Transport: t}
		o.ownClient = true
	}
	if o.now == nil {
		o.now = time.Now
	}
	o.started = o.now()
	o.hub = newHub(o)
	return o, nil
}

// Start serves the overlay on a free port of 127.0.0.1; URL then returns its base URL.
func (o *Overlay) Start() error {
	o.srvMu.Lock()
	defer o.srvMu.Unlock()
	if o.closed {
		return errors.New("stripeoverlay: start: overlay is closed")
	}
	if o.srv != nil {
		return errors.New("stripeoverlay: start: already started")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("stripeoverlay: listen on loopback: %w", err)
	}
	o.srv = &http.Server{Handler: o, ReadHeaderTimeout: 10 * time.Second}
	if o.cfg.ServerLog != nil {
		o.srv.ErrorLog = log.New(o.cfg.ServerLog, "stripe overlay: ", log.LstdFlags)
	}
	o.url = "http://" + l.Addr().String()
	go func() { _ = o.srv.Serve(l) }()
	return nil
}

// URL returns the overlay's base URL ("http://127.0.0.1:PORT") once started, else "".
func (o *Overlay) URL() string {
	o.srvMu.Lock()
	defer o.srvMu.Unlock()
	return o.url
}

// Close stops the server (if started) and event delivery. Events not yet delivered
// (waiting for their delay, held for reordering, or emitted after Close) are dropped
// and counted in Stats().EventsDropped; a delivery in progress is cancelled through its
// context. It is safe to call more than once.
func (o *Overlay) Close(ctx context.Context) error {
	o.srvMu.Lock()
	if o.closed {
		o.srvMu.Unlock()
		return nil
	}
	o.closed = true
	srv := o.srv
	o.srvMu.Unlock()

	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("stripeoverlay: stop server: %w", err))
		}
	}
	if err := o.hub.close(ctx); err != nil {
		errs = append(errs, err)
	}
	if o.ownClient {
		o.client.CloseIdleConnections()
	}
	return errors.Join(errs...)
}

// WebhookSecret returns the secret events are signed with (WebhookConfig.Secret or
// DefaultSecret), for webhook.ConstructEvent.
func (o *Overlay) WebhookSecret() string { return o.cfg.Webhook.Secret }

// rand returns a uniform value in [0, 1) from the seeded source.
func (o *Overlay) rand() float64 {
	o.rngMu.Lock()
	defer o.rngMu.Unlock()
	return o.rng.Float64()
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID returns prefix and n random base-62 characters: "evt_1Nx...".
func (o *Overlay) newID(prefix string, n int) string {
	b := make([]byte, 0, len(prefix)+n)
	b = append(b, prefix...)
	o.rngMu.Lock()
	for range n {
		b = append(b, idAlphabet[o.rng.IntN(len(idAlphabet))])
	}
	o.rngMu.Unlock()
	return string(b)
}

// ServeHTTP answers one Stripe API request: a 429 when rate limited (or under a
// rate_limit fault), a 500 when an errors fault picks it, and otherwise stripe-mock's
// answer made stateful and stamped.
func (o *Overlay) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.stats.requests.Add(1)
	write := isWrite(r.Method)
	if write {
		o.stats.writes.Add(1)
	} else {
		o.stats.reads.Add(1)
	}
	reqID := o.newID("req_", 14)
	w.Header().Set("Request-Id", reqID)

	storm, errRate := o.activeFaults()
	if storm {
		o.stats.rateLimited.Add(1)
		o.stats.injectedRateLimited.Add(1)
		o.writeRateLimited(w)
		return
	}
	if !o.limiter.allow(o.now(), write, r.URL.Path) {
		o.stats.rateLimited.Add(1)
		o.writeRateLimited(w)
		return
	}
	if errRate > 0 && o.rand() < errRate {
		o.stats.injectedErrs.Add(1)
		writeAPIError(w, http.StatusInternalServerError, apiErrorMessage)
		return
	}

	kind, id, ok := objectPath(r.URL.Path)
	if !ok {
		o.serveOther(w, r)
		return
	}
	key := objKey{kind, id}
	req := eventRequest{ID: reqID, IdempotencyKey: r.Header.Get("Idempotency-Key")}
	switch {
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		o.serveGet(w, r, key)
	case r.Method == http.MethodPost:
		body, err := readBody(r)
		if err != nil {
			writeStripeError(w, http.StatusBadRequest, stripeError{Message: "cachebench overlay: read request body: " + err.Error(), Type: "invalid_request_error"})
			return
		}
		form, ok := parseFormBody(r.Header.Get("Content-Type"), body)
		if !ok {
			o.forward(w, r, body)
			return
		}
		out, err := o.applyUpdate(r.Context(), key, form, body, r.Header, req)
		o.writeOutcome(w, key, out, err)
	case r.Method == http.MethodDelete && kind.del != deleteNone:
		body, err := readBody(r)
		if err != nil {
			writeStripeError(w, http.StatusBadRequest, stripeError{Message: "cachebench overlay: read request body: " + err.Error(), Type: "invalid_request_error"})
			return
		}
		out, err := o.applyDelete(r.Context(), key, r.URL.RawQuery, body, r.Header, req)
		o.writeOutcome(w, key, out, err)
	default:
		o.serveOther(w, r)
	}
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("body over %d bytes", maxBody)
	}
	return b, nil
}

// parseFormBody reads a form-encoded body, the way Stripe's v1 API takes parameters.
func parseFormBody(contentType string, body []byte) (url.Values, bool) {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	if ct != "" && ct != "application/x-www-form-urlencoded" {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	return form, err == nil
}

// upstreamResp is stripe-mock's answer.
type upstreamResp struct {
	status int
	header http.Header
	body   []byte
}

func (u *upstreamResp) ok() bool { return u.status >= 200 && u.status < 300 }

// hopHeaders are not forwarded either way; nor are the ones the overlay sets itself.
var hopHeaders = []string{
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
	"Transfer-Encoding", "Upgrade", "Content-Length", "Accept-Encoding", "Host",
}

func copyHeaders(dst, src http.Header, skip ...string) {
	for k, vs := range src {
		if containsFold(hopHeaders, k) || containsFold(skip, k) {
			continue
		}
		dst[k] = append([]string(nil), vs...)
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// call makes one request to stripe-mock.
func (o *Overlay) call(ctx context.Context, method, pathQuery string, header http.Header, body []byte) (*upstreamResp, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, o.upstream.String()+pathQuery, rd)
	if err != nil {
		return nil, err
	}
	copyHeaders(req.Header, header)
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("answer over %d bytes", maxBody)
	}
	return &upstreamResp{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// upstreamFailed answers a request stripe-mock could not answer.
func (o *Overlay) upstreamFailed(w http.ResponseWriter, err error) {
	o.stats.upstreamErrors.Add(1)
	writeAPIError(w, http.StatusBadGateway, "cachebench overlay: stripe-mock did not answer: "+err.Error())
}

// pass writes stripe-mock's answer as it is.
func pass(w http.ResponseWriter, u *upstreamResp) {
	copyHeaders(w.Header(), u.header, "Request-Id")
	w.WriteHeader(u.status)
	_, _ = w.Write(u.body)
}

// forward sends r to stripe-mock with body and passes the answer through.
func (o *Overlay) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	u, err := o.call(r.Context(), r.Method, r.URL.RequestURI(), r.Header, body)
	if err != nil {
		o.upstreamFailed(w, err)
		return
	}
	pass(w, u)
}

// serveOther forwards a request that is not about one versioned object. A list or
// search answer has each versioned object in its data made current and stamped, and
// deleted ones left out; everything else passes through untouched.
func (o *Overlay) serveOther(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		writeStripeError(w, http.StatusBadRequest, stripeError{Message: "cachebench overlay: read request body: " + err.Error(), Type: "invalid_request_error"})
		return
	}
	u, err := o.call(r.Context(), r.Method, r.URL.RequestURI(), r.Header, body)
	if err != nil {
		o.upstreamFailed(w, err)
		return
	}
	if r.Method == http.MethodGet && u.ok() {
		if b, ok := o.stampList(u.body); ok {
			u.body = b
		}
	}
	pass(w, u)
}

// stampList makes the versioned objects in a list's data current and stamped.
func (o *Overlay) stampList(body []byte) ([]byte, bool) {
	list, err := decodeObject(body)
	if err != nil {
		return nil, false
	}
	if t, _ := list["object"].(string); t != "list" && t != "search_result" {
		return nil, false
	}
	data, ok := list["data"].([]any)
	if !ok {
		return nil, false
	}
	kept := data[:0]
	o.mu.RLock()
	for _, item := range data {
		obj, ok := item.(map[string]any)
		if !ok {
			kept = append(kept, item)
			continue
		}
		name, _ := obj["object"].(string)
		id, _ := obj["id"].(string)
		kind := kindByName(name)
		if kind == nil || id == "" {
			kept = append(kept, item)
			continue
		}
		st := o.objects[objKey{kind, id}]
		if st != nil && st.gone {
			continue
		}
		renderLocked(obj, st)
		kept = append(kept, obj)
	}
	o.mu.RUnlock()
	list["data"] = kept
	b, err := encodeJSON(list)
	return b, err == nil
}

// serveGet answers GET /v1/<plural>/<id>: stripe-mock's fixture (with the ID echoed)
// overlaid with the object's state and stamped with its version.
func (o *Overlay) serveGet(w http.ResponseWriter, r *http.Request, key objKey) {
	u, err := o.call(r.Context(), r.Method, r.URL.RequestURI(), r.Header, nil)
	if err != nil {
		o.upstreamFailed(w, err)
		return
	}
	var obj map[string]any
	if u.ok() {
		obj, err = decodeObject(u.body)
	}
	if !u.ok() || err != nil {
		pass(w, u)
		return
	}
	o.mu.RLock()
	st := o.objects[key]
	var out outcome
	if st != nil && st.gone {
		out = goneOutcome(key, st.version())
	} else {
		out = outcome{status: u.status, header: u.header, obj: obj, version: renderLocked(obj, st)}
	}
	o.mu.RUnlock()
	o.writeOutcome(w, key, out, nil)
}

// outcome is the overlay's answer about one object.
type outcome struct {
	pass    *upstreamResp  // stripe-mock's answer, passed through (a validation error)
	missing bool           // 404 resource_missing: the object is gone
	status  int            // the status of obj
	header  http.Header    // stripe-mock's headers to keep
	obj     map[string]any // the body
	version int64          // the object's version, for the headers
}

// goneOutcome is the answer about a deleted object: Stripe's deleted stub for kinds
// that keep one (customers), 404 resource_missing for others.
func goneOutcome(key objKey, version int64) outcome {
	if key.kind.del == deleteStub {
		return outcome{status: http.StatusOK, version: version,
			obj: map[string]any{"id": key.id, "object": key.kind.name, "deleted": true}}
	}
	return outcome{missing: true, version: version}
}

func (o *Overlay) writeOutcome(w http.ResponseWriter, key objKey, out outcome, err error) {
	if err != nil {
		o.upstreamFailed(w, err)
		return
	}
	if out.pass != nil {
		pass(w, out.pass)
		return
	}
	h := w.Header()
	h.Set(HeaderObject, key.String())
	h.Set(HeaderVersion, fmt.Sprint(out.version))
	if out.missing {
		writeMissing(w, key.kind, key.id)
		return
	}
	body, err := encodeJSON(out.obj)
	if err == nil {
		body = o.pad(key, body)
	}
	if err != nil {
		writeAPIError(w, http.StatusInternalServerError, "cachebench overlay: encode answer: "+err.Error())
		return
	}
	if out.header != nil {
		copyHeaders(h, out.header, "Request-Id")
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(out.status)
	_, _ = w.Write(body)
}

// PadField is the top-level field SetSizes pads an object's JSON with.
const PadField = "cachebench_pad"

// SetSizes makes every answer about an object as large, in bytes of JSON, as
// size(object, id) says, by adding a PadField string to it (so that a trace's value sizes
// become the cached objects' sizes); 0 leaves the object as stripe-mock made it, and so
// does a size below the object's own (counted as Stats.OverSize). nil turns it off.
func (o *Overlay) SetSizes(size func(object, id string) int) {
	if size == nil {
		o.sizes.Store(nil)
		return
	}
	o.sizes.Store(&size)
}

// pad returns body padded to the size SetSizes gives key: the pad field is spliced in as
// the object's first field, so the rest of the body is not encoded again.
func (o *Overlay) pad(key objKey, body []byte) []byte {
	f := o.sizes.Load()
	if f == nil {
		return body
	}
	want := (*f)(key.kind.name, key.id)
	if want <= 0 {
		return body
	}
	// `"cachebench_pad":"…",` after the opening brace.
	n := want - len(body) - len(PadField) - 6
	if n < 0 || len(body) < 2 || body[0] != '{' {
		o.stats.overSize.Add(1)
		return body
	}
	out := make([]byte, 0, want)
	out = append(out, '{', '"')
	out = append(out, PadField...)
	out = append(out, '"', ':', '"')
	// n bytes of 'x', filled by doubling copies: a byte at a time took 13–22 µs for a
	// 41 KB answer, the copies well under 1 µs.
	if n > 0 {
		start := len(out)
		out = out[:start+n]
		out[start] = 'x'
		for filled := 1; filled < n; filled *= 2 {
			copy(out[start+filled:], out[start:start+filled])
		}
	}
	out = append(out, '"', ',')
	out = append(out, body[1:]...)
	o.stats.padded.Add(1)
	return out
}

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
