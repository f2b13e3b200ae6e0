package stripeoverlay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// APIPrefix is the path under which a Service answers its own API. Stripe's API lives
// under /v1 and /v2, so no Stripe path starts with it.
const APIPrefix = "/_cachebench/v1"

// ServiceName is what GET APIPrefix+"/info" answers in "service", so a client can tell a
// Service from a plain Stripe API.
const ServiceName = "cachebench-stripe-overlay"

// ServiceConfig configures a Service.
type ServiceConfig struct {
	// Upstream is the Stripe API the run overlays sit in front of (stripe-mock).
	Upstream string
	// HTTPClient calls Upstream and the webhook endpoints; nil means a pooled client.
	HTTPClient *http.Client
	// ServerLog receives the HTTP server's error lines; nil leaves them to the standard
	// logger.
	ServerLog io.Writer
}

// Service is the Stripe overlay as a network service, for the shards of a sharded run
// ('cachebench env up' serves one; the bench package's documentation, Sharded runs,
// tells how shards use it): it keeps one Overlay per run, made by the first shard that
// asks (PUT with the run's RunConfig), so that every shard's reads, its updates and its
// webhooks go through one set of versions and one rate limiter, as at Stripe, where
// limits are per account, and any shard can fetch the whole history to judge its reads.
// A run's overlay lives as long as the Service. Paths outside APIPrefix pass through to
// Upstream unchanged, so a run without a shared overlay can use the Service's URL as
// its Stripe API too.
type Service struct {
	cfg    ServiceConfig
	client *http.Client
	proxy  *httputil.ReverseProxy

	mu     sync.Mutex
	runs   map[string]*serviceRun
	srv    *http.Server
	url    string
	closed bool
}

// serviceRun is one run's overlay and the config it was made with.
type serviceRun struct {
	cfg RunConfig
	ov  *Overlay
}

// NewService returns a Service in front of cfg.Upstream; Start listens, or use it as an
// http.Handler.
func NewService(cfg ServiceConfig) (*Service, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Upstream, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("stripeoverlay: service: upstream %q is not an http(s) URL like http://127.0.0.1:12111", cfg.Upstream)
	}
	cfg.Upstream = u.String()
	s := &Service{cfg: cfg, client: cfg.HTTPClient, runs: map[string]*serviceRun{}}
	if s.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 256
		s.client = &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	s.proxy = httputil.NewSingleHostReverseProxy(u)
	s.proxy.Transport = s.client.Transport
	return s, nil
}

// Start serves the Service on addr ("127.0.0.1:0" for a free loopback port; ":8420" to
// be reached from other machines, as a Kubernetes Service would); URL then returns its
// base URL.
func (s *Service) Start(addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.srv != nil {
		return errors.New("stripeoverlay: service: start: already started or closed")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("stripeoverlay: service: listen on %s: %w", addr, err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	if s.cfg.ServerLog != nil {
		s.srv.ErrorLog = log.New(s.cfg.ServerLog, "stripe overlay service: ", log.LstdFlags)
	}
	host, port, _ := net.SplitHostPort(l.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	s.url = "http://" + net.JoinHostPort(host, port)
	go func() { _ = s.srv.Serve(l) }()
	return nil
}

// URL returns the Service's base URL once started, else "".
func (s *Service) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Close stops the server and every run's overlay.
func (s *Service) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv, runs := s.srv, s.runs
	s.runs = map[string]*serviceRun{}
	s.mu.Unlock()
	var errs []error
	if srv != nil {
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("stripeoverlay: service: stop server: %w", err))
		}
	}
	for _, r := range runs {
		errs = append(errs, r.ov.Close(ctx))
	}
	return errors.Join(errs...)
}

// runIDPattern is what a run's name may be: the characters of a cachebench run ID.
var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// ServeHTTP answers the API under APIPrefix and passes everything else to Upstream:
//
//	GET  /_cachebench/v1/info                 {"service": ServiceName}
//	PUT  /_cachebench/v1/runs/RUN             RunConfig: makes the run's overlay (201), or
//	                                          finds it made with the same config (200)
//	POST /_cachebench/v1/runs/RUN/updates     {"object","id","metadata"}: Overlay.Update
//	POST /_cachebench/v1/runs/RUN/webhooks    {"url"}: POST every later event there
//	GET  /_cachebench/v1/runs/RUN/history     every changed object's versions (History)
//	*    /_cachebench/v1/runs/RUN/stripe/...  the run's overlay: a Stripe API base URL
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, APIPrefix+"/")
	if !ok {
		s.proxy.ServeHTTP(w, r)
		return
	}
	if rest == "info" && r.Method == http.MethodGet {
		writeAPI(w, http.StatusOK, map[string]any{"service": ServiceName})
		return
	}
	runPath, ok := strings.CutPrefix(rest, "runs/")
	if !ok {
		apiError(w, http.StatusNotFound, "unknown path %s: the API has /info and /runs/RUN/...", r.URL.Path)
		return
	}
	run, sub, _ := strings.Cut(runPath, "/")
	if !runIDPattern.MatchString(run) {
		apiError(w, http.StatusBadRequest, "run name %q: want letters, digits, '.', '_' or '-', at most 100", run)
		return
	}
	if sub == "" {
		if r.Method != http.MethodPut {
			apiError(w, http.StatusMethodNotAllowed, "%s %s: only PUT makes a run", r.Method, r.URL.Path)
			return
		}
		s.putRun(w, r, run)
		return
	}
	sr := s.run(run)
	if sr == nil {
		apiError(w, http.StatusNotFound, "no run %q: PUT %s/runs/%s with its config first", run, APIPrefix, run)
		return
	}
	switch {
	case sub == "stripe" || strings.HasPrefix(sub, "stripe/"):
		http.StripPrefix(APIPrefix+"/runs/"+run+"/stripe", sr.ov).ServeHTTP(w, r)
	case sub == "updates" && r.Method == http.MethodPost:
		s.postUpdate(w, r, sr.ov)
	case sub == "webhooks" && r.Method == http.MethodPost:
		s.postWebhook(w, r, sr.ov)
	case sub == "history" && r.Method == http.MethodGet:
		writeAPI(w, http.StatusOK, exportHistory(sr.ov))
	default:
		apiError(w, http.StatusNotFound, "%s %s: unknown; see the Service's documentation", r.Method, r.URL.Path)
	}
}

func (s *Service) run(name string) *serviceRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[name]
}

func (s *Service) putRun(w http.ResponseWriter, r *http.Request, name string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		apiError(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	rc, err := ParseRunConfig(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		apiError(w, http.StatusServiceUnavailable, "the service is closing")
		return
	}
	if have := s.runs[name]; have != nil {
		if !have.cfg.equal(rc) {
			apiError(w, http.StatusConflict, "run %q was made with another config: the shards of a run must share their scenario (and a new run a new run ID)", name)
			return
		}
		writeAPI(w, http.StatusOK, map[string]any{"run": name, "webhook_secret": have.ov.WebhookSecret()})
		return
	}
	cfg, err := rc.Config()
	if err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	}
	cfg.Upstream = s.cfg.Upstream
	cfg.HTTPClient = s.client
	cfg.ServerLog = s.cfg.ServerLog
	ov, err := New(cfg)
	if err != nil {
		apiError(w, http.StatusBadRequest, "%v", err)
		return
	}
	s.runs[name] = &serviceRun{cfg: rc, ov: ov}
	writeAPI(w, http.StatusCreated, map[string]any{"run": name, "webhook_secret": ov.WebhookSecret()})
}

// updateRequest is the body of POST .../updates.
type updateRequest struct {
	Object   string            `json:"object"`
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata"`
}

func (s *Service) postUpdate(w http.ResponseWriter, r *http.Request, ov *Overlay) {
	var req updateRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "update: %v", err)
		return
	}
	v, err := ov.Update(r.Context(), req.Object, req.ID, req.Metadata)
	switch {
	case errors.Is(err, ErrDeleted):
		apiError(w, http.StatusGone, "%v", err)
	case err != nil:
		apiError(w, http.StatusBadRequest, "%v", err)
	default:
		writeAPI(w, http.StatusOK, map[string]any{"version": v})
	}
}

// webhookRequest is the body of POST .../webhooks.
type webhookRequest struct {
	URL string `json:"url"`
}

// postWebhook adds an endpoint that every later event of the run is POSTed to, signed,
// as Stripe does. Unlike Overlay.SubscribeURL the endpoint may be anywhere the Service
// can reach: the shards of a run on Kubernetes are other pods.
func (s *Service) postWebhook(w http.ResponseWriter, r *http.Request, ov *Overlay) {
	var req webhookRequest
	if err := decodeStrict(r.Body, &req); err != nil {
		apiError(w, http.StatusBadRequest, "webhook: %v", err)
		return
	}
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		apiError(w, http.StatusBadRequest, "webhook: url %q is not an http(s) URL like http://10.0.0.7:8421/webhook", req.URL)
		return
	}
	endpoint := u.String()
	ov.Subscribe(poster(s.client, endpoint))
	writeAPI(w, http.StatusCreated, map[string]any{"url": endpoint})
}

// exportHistory is every changed object's version history, for HistorySet.
func exportHistory(o *Overlay) historyWire {
	o.mu.RLock()
	defer o.mu.RUnlock()
	out := historyWire{Started: o.started, Objects: make([]objectHistoryWire, 0, len(o.objects))}
	for k, st := range o.objects {
		if len(st.history) < 2 {
			continue // created by a writer that changed nothing: still version 1
		}
		h := objectHistoryWire{Object: k.kind.name, ID: k.id, Changes: make([]changeWire, len(st.history))}
		for i, c := range st.history {
			h.Changes[i] = changeWire{Version: c.Version, At: c.At, Deleted: c.Deleted}
		}
		out.Objects = append(out.Objects, h)
	}
	return out
}

func writeAPI(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, format string, args ...any) {
	writeAPI(w, status, map[string]any{"error": fmt.Sprintf(format, args...)})
}

// decodeStrict decodes one JSON value from r into v, refusing unknown fields.
func decodeStrict(r io.Reader, v any) error {
	d := json.NewDecoder(io.LimitReader(r, 1<<20))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return fmt.Errorf("bad JSON body: %w", err)
	}
	return nil
}
