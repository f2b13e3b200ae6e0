package mocks

import (
	"bytes"
	"net/http"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// EmbeddedConfig configures the embedded provider's in-process stripe-mock.
type EmbeddedConfig struct {
	// StripeWorkers bounds the requests the embedded stripe-mock handles at once; the
	// others wait for a worker, and StandIn measures that wait. 0 means 8 per processor
	// (GOMAXPROCS); a negative value means no bound.
	StripeWorkers int
	// StripeDelay is added to the handler time of every request, inside a worker: a
	// slow stand-in for tests of the harness's saturation rule. 0 adds nothing.
	StripeDelay time.Duration
	// NoMemo turns off the memo of GET answers (see StandIn): every request then runs
	// stripe-mock's whole handler (spec validation, fixture generation, JSON encoding).
	NoMemo bool
	// VirtualClock puts miniredis and the in-memory L3 on a simulated clock that only
	// Env.SetClock moves: key TTLs in Redis and TTL attributes in the L3 expire when the
	// simulated time passes them, not the wall clock. Until the first SetClock the clock
	// reads the Unix epoch. false leaves both on the wall clock.
	VirtualClock bool
}

// StandIn is an in-process stand-in service's own account of its load: how long its
// handler took and how long requests waited for one of its workers. The embedded
// provider's stripe-mock has one (Env.StripeMock). It is safe for concurrent use.
type StandIn struct {
	// Service is the service it stands in for ("stripe"); Backend says what it is.
	Service, Backend string
	// Workers bounds the requests handled at once; 0 means unbounded.
	Workers int

	mu       sync.Mutex
	handler  *hdrhistogram.Histogram // µs
	queue    *hdrhistogram.Histogram // µs
	requests int64
}

func newStandIn(service, backend string, workers int) *StandIn {
	return &StandIn{
		Service: service, Backend: backend, Workers: workers,
		handler: newUSHist(), queue: newUSHist(),
	}
}

// newUSHist holds 1 µs to 10 min at 3 significant figures.
func newUSHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, 600_000_000, 3) }

func (s *StandIn) record(queued, handled time.Duration) {
	s.mu.Lock()
	_ = s.queue.RecordValue(max(queued.Microseconds(), 1))
	_ = s.handler.RecordValue(max(handled.Microseconds(), 1))
	s.requests++
	s.mu.Unlock()
}

// StandInSnapshot is a StandIn's cumulative figures at one moment; Sub gives a window.
type StandInSnapshot struct {
	Requests int64
	// Handler and Queue hold microseconds: the handler's own time, and the wait for a
	// worker before it.
	Handler, Queue *hdrhistogram.Histogram
}

// Snapshot returns copies of the cumulative figures.
func (s *StandIn) Snapshot() StandInSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StandInSnapshot{
		Requests: s.requests,
		Handler:  hdrhistogram.Import(s.handler.Export()),
		Queue:    hdrhistogram.Import(s.queue.Export()),
	}
}

// Sub returns the figures of the window from old to s.
func (s StandInSnapshot) Sub(old StandInSnapshot) StandInSnapshot {
	return StandInSnapshot{
		Requests: s.Requests - old.Requests,
		Handler:  subHist(s.Handler, old.Handler),
		Queue:    subHist(s.Queue, old.Queue),
	}
}

func subHist(a, b *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	sa, sb := a.Export(), b.Export()
	for i := range sa.Counts {
		if i < len(sb.Counts) {
			sa.Counts[i] = max(sa.Counts[i]-sb.Counts[i], 0)
		}
	}
	return hdrhistogram.Import(sa)
}

// defaultStandInWorkers is EmbeddedConfig.StripeWorkers's default per processor.
const defaultStandInWorkers = 8

// stubHandler serves stripe-mock's handler with a bounded set of workers, measures it
// (StandIn), and memoises GET answers for single objects.
//
// The memo: stripe-mock is stateless and its answer to GET /v1/<things>/<id> is a
// fixture with the ID echoed, so the answer for one ID is the answer for another with
// the ID swapped. For each route (authorization, object path, query) the memo keeps
// stripe-mock's answer for a sentinel ID, checked once against stripe-mock's own answer
// for the first real ID: only a template that reproduces that answer byte for byte is
// kept; other routes always go to stripe-mock. This saves the spec validation, fixture
// generation and JSON encoding (about 200 µs of CPU) per request, which otherwise make
// the embedded Stripe, not the cache, the limit of an all-miss run.
type stubHandler struct {
	next  http.Handler
	sem   chan struct{}
	delay time.Duration
	memo  bool
	stats *StandIn

	mu    sync.RWMutex
	cache map[string]*memoEntry
}

type memoEntry struct {
	pass     bool // not memoisable: ask stripe-mock
	sentinel string
	status   int
	header   http.Header
	body     []byte
}

// maxMemo bounds the memo's routes.
const maxMemo = 4096

// memoPath is /v1/<things>/<prefix>_<rest>: one object by its Stripe ID.
var memoPath = regexp.MustCompile(`^/v1/([a-z_]+)/([a-z]+)_([A-Za-z0-9]+)$`)

func newStubHandler(next http.Handler, cfg EmbeddedConfig, backend string) *stubHandler {
	workers := cfg.StripeWorkers
	if workers == 0 {
		workers = defaultStandInWorkers * runtime.GOMAXPROCS(0)
	}
	h := &stubHandler{next: next, delay: cfg.StripeDelay, memo: !cfg.NoMemo, cache: map[string]*memoEntry{}}
	if workers > 0 {
		h.sem = make(chan struct{}, workers)
	} else {
		workers = 0
	}
	h.stats = newStandIn(ServiceStripe, backend, workers)
	return h
}

func (h *stubHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	if h.sem != nil {
		select {
		case h.sem <- struct{}{}:
		case <-r.Context().Done():
			return
		}
	}
	t1 := time.Now()
	rec := &bufferedResponse{header: http.Header{}}
	h.handle(rec, r)
	if h.delay > 0 {
		time.Sleep(h.delay)
	}
	if h.sem != nil {
		<-h.sem
	}
	h.stats.record(t1.Sub(t0), time.Since(t1))
	rec.writeTo(w)
}

// handle answers r into rec, from the memo when it can.
func (h *stubHandler) handle(rec *bufferedResponse, r *http.Request) {
	if !h.memo || r.Method != http.MethodGet || strings.HasPrefix(r.Header.Get("User-Agent"), "curl/") || r.Header.Get("Idempotency-Key") != "" {
		h.next.ServeHTTP(rec, r)
		return
	}
	m := memoPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		h.next.ServeHTTP(rec, r)
		return
	}
	id := m[2] + "_" + m[3]
	key := r.Header.Get("Authorization") + " " + m[1] + "/" + m[2] + "?" + r.URL.RawQuery
	h.mu.RLock()
	e := h.cache[key]
	h.mu.RUnlock()
	if e == nil {
		h.learn(rec, r, key, m[1], m[2], id)
		return
	}
	if e.pass {
		h.next.ServeHTTP(rec, r)
		return
	}
	for k, vs := range e.header {
		rec.header[k] = vs
	}
	rec.status = e.status
	rec.body.Write(bytes.ReplaceAll(e.body, []byte(e.sentinel), []byte(id)))
}

// learn answers r from stripe-mock and, if a template for its route reproduces that
// answer exactly, keeps the template.
func (h *stubHandler) learn(rec *bufferedResponse, r *http.Request, key, things, prefix, id string) {
	h.next.ServeHTTP(rec, r)
	e := &memoEntry{pass: true}
	sentinel := prefix + "_cbMemo7f3a9c1e0d5b"
	if rec.status == http.StatusOK && id != sentinel {
		tr := r.Clone(r.Context())
		tr.URL.Path = "/v1/" + things + "/" + sentinel
		tr.URL.RawPath = ""
		tr.RequestURI = tr.URL.RequestURI()
		t := &bufferedResponse{header: http.Header{}}
		h.next.ServeHTTP(t, tr)
		got := bytes.ReplaceAll(t.body.Bytes(), []byte(sentinel), []byte(id))
		if t.status == rec.status && bytes.Equal(got, rec.body.Bytes()) && sameHeader(t.header, rec.header) {
			e = &memoEntry{sentinel: sentinel, status: t.status, header: t.header, body: t.body.Bytes()}
		}
	}
	h.mu.Lock()
	if len(h.cache) < maxMemo {
		h.cache[key] = e
	}
	h.mu.Unlock()
}

// sameHeader compares the headers a memoised answer reuses.
func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb := b[k]
		if len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

// bufferedResponse is an http.ResponseWriter that keeps the answer in memory, so a
// worker is held for the handler's time only, not for the client's reading.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	h := w.Header()
	for k, vs := range b.header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(b.body.Len()))
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.body.Bytes())
}
