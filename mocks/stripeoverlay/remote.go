package stripeoverlay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"
)

// RunConfig is a run's overlay configuration as a Service takes it (PUT
// /_cachebench/v1/runs/RUN): the parts of Config a scenario sets. Durations are Go
// duration strings ("1s", "250ms").
type RunConfig struct {
	Mode string `json:"mode,omitempty"`
	Seed int64  `json:"seed,omitempty"`
	// Read, Write and Search are the account's rate limits per second; 0 means the
	// mode's (Limits).
	Read   float64 `json:"read,omitempty"`
	Write  float64 `json:"write,omitempty"`
	Search float64 `json:"search,omitempty"`

	WebhookDelay      string  `json:"webhook_delay,omitempty"`
	WebhookJitter     string  `json:"webhook_jitter,omitempty"`
	WebhookDuplicates float64 `json:"webhook_duplicates,omitempty"`
	WebhookReorder    float64 `json:"webhook_reorder,omitempty"`
}

// RunConfigFrom returns the RunConfig of cfg (its Mode, Seed, Limits and Webhook delay,
// jitter, duplicates and reorder; the rest is the Service's).
func RunConfigFrom(cfg Config) RunConfig {
	rc := RunConfig{
		Mode: cfg.Mode, Seed: cfg.Seed,
		WebhookDuplicates: cfg.Webhook.Duplicates, WebhookReorder: cfg.Webhook.Reorder,
	}
	if cfg.Webhook.Delay > 0 {
		rc.WebhookDelay = cfg.Webhook.Delay.String()
	}
	if cfg.Webhook.Jitter > 0 {
		rc.WebhookJitter = cfg.Webhook.Jitter.String()
	}
	if l := cfg.Limits; l != nil {
		rc.Read, rc.Write, rc.Search = l.Read, l.Write, l.PerPath[SearchPattern]
	}
	return rc
}

// ParseRunConfig decodes a RunConfig from JSON, refusing unknown fields and values
// Config would refuse.
func ParseRunConfig(b []byte) (RunConfig, error) {
	var rc RunConfig
	if err := decodeStrict(bytes.NewReader(b), &rc); err != nil {
		return RunConfig{}, fmt.Errorf("run config: %w", err)
	}
	if _, err := rc.Config(); err != nil {
		return RunConfig{}, err
	}
	return rc, nil
}

// Config returns the overlay Config of rc (no Upstream), or an error naming the bad
// field.
func (rc RunConfig) Config() (Config, error) {
	cfg := Config{Mode: rc.Mode, Seed: rc.Seed, Upstream: "http://127.0.0.1:1"}
	for _, f := range []struct {
		name string
		v    float64
	}{{"read", rc.Read}, {"write", rc.Write}, {"search", rc.Search}, {"webhook_duplicates", rc.WebhookDuplicates}, {"webhook_reorder", rc.WebhookReorder}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return Config{}, fmt.Errorf("run config: %s %v: want a finite number, 0 or more", f.name, f.v)
		}
	}
	if rc.Read > 0 || rc.Write > 0 || rc.Search > 0 {
		cfg.Limits = &Limits{Read: rc.Read, Write: rc.Write} // 0: the mode's
		if rc.Search > 0 {
			cfg.Limits.PerPath = map[string]float64{SearchPattern: rc.Search}
		}
	}
	var err error
	if cfg.Webhook.Delay, err = parseDuration("webhook_delay", rc.WebhookDelay); err != nil {
		return Config{}, err
	}
	if cfg.Webhook.Jitter, err = parseDuration("webhook_jitter", rc.WebhookJitter); err != nil {
		return Config{}, err
	}
	cfg.Webhook.Duplicates, cfg.Webhook.Reorder = rc.WebhookDuplicates, rc.WebhookReorder
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("run config: %w", err)
	}
	cfg.Upstream = ""
	return cfg, nil
}

func modeOr(m string) string {
	if m == "" {
		return ModeTest
	}
	return m
}

func parseDuration(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("run config: %s %q: want a duration like 250ms or 1s, 0 or more", name, s)
	}
	return d, nil
}

// equal reports whether rc and o make the same overlay.
func (rc RunConfig) equal(o RunConfig) bool {
	a, _ := rc.Config()
	b, _ := o.Config()
	same := func(x, y *Limits) bool {
		if x == nil || y == nil {
			return x == y
		}
		return x.Read == y.Read && x.Write == y.Write && x.PerPath[SearchPattern] == y.PerPath[SearchPattern]
	}
	return modeOr(a.Mode) == modeOr(b.Mode) && a.Seed == b.Seed && same(a.Limits, b.Limits) &&
		a.Webhook.Delay == b.Webhook.Delay && a.Webhook.Jitter == b.Webhook.Jitter &&
		a.Webhook.Duplicates == b.Webhook.Duplicates && a.Webhook.Reorder == b.Webhook.Reorder
}

// historyWire is GET .../history's answer.
type historyWire struct {
	Started time.Time           `json:"started"`
	Objects []objectHistoryWire `json:"objects"`
}

type objectHistoryWire struct {
	Object  string       `json:"object"`
	ID      string       `json:"id"`
	Changes []changeWire `json:"changes"`
}

type changeWire struct {
	Version int64     `json:"version"`
	At      time.Time `json:"at"`
	Deleted bool      `json:"deleted,omitempty"`
}

// HistorySet is a run overlay's whole version history as a Remote fetched it: the
// staleness oracle of a shard whose overlay is another process's.
type HistorySet struct {
	started time.Time
	objects map[string][]Change // "type/id" -> history; absent: never changed
}

// ParseHistory decodes GET .../history's answer, checking that every object's versions
// run 1, 2, 3... in time order.
func ParseHistory(b []byte) (*HistorySet, error) {
	var w historyWire
	if err := decodeStrict(bytes.NewReader(b), &w); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	hs := &HistorySet{started: w.Started, objects: make(map[string][]Change, len(w.Objects))}
	for _, o := range w.Objects {
		if kindByName(o.Object) == nil || o.ID == "" {
			return nil, fmt.Errorf("history: object %q/%q: want a known object type and an ID", o.Object, o.ID)
		}
		if len(o.Changes) == 0 {
			return nil, fmt.Errorf("history: %s/%s has no versions", o.Object, o.ID)
		}
		hist := make([]Change, len(o.Changes))
		for i, c := range o.Changes {
			if c.Version != int64(i+1) || (i > 0 && c.At.Before(hist[i-1].At)) {
				return nil, fmt.Errorf("history: %s/%s: change %d is version %d at %s: want versions 1, 2, ... in time order", o.Object, o.ID, i, c.Version, c.At.Format(time.RFC3339Nano))
			}
			hist[i] = Change{Version: c.Version, At: c.At, Deleted: c.Deleted}
		}
		key := o.Object + "/" + o.ID
		if _, dup := hs.objects[key]; dup {
			return nil, fmt.Errorf("history: %s appears twice", key)
		}
		hs.objects[key] = hist
	}
	return hs, nil
}

// Len returns how many objects changed.
func (hs *HistorySet) Len() int { return len(hs.objects) }

// Changes returns how many changes (versions after the first) the history holds.
func (hs *HistorySet) Changes() int64 {
	var n int64
	for _, h := range hs.objects {
		n += int64(len(h) - 1)
	}
	return n
}

// Check is Overlay.Check on the fetched history: whether version of objectType/id was
// current at at and, if not, for how long it had been stale.
func (hs *HistorySet) Check(objectType, id string, version int64, at time.Time) Verdict {
	if kindByName(objectType) == nil {
		return Verdict{}
	}
	hist, ok := hs.objects[objectType+"/"+id]
	if !ok {
		hist = []Change{{Version: 1, At: hs.started}}
	}
	return verdictAt(hist, version, at)
}

// Remote is a client of one run's overlay in a Service: what a shard of a sharded run
// uses in place of an Overlay of its own.
type Remote struct {
	base   string // the Service's URL
	run    string
	secret string
	client *http.Client
}

// Dial makes (or joins) run's overlay in the Service at base with rc. Every shard of a
// run dials with the same rc; a different one is an error.
func Dial(ctx context.Context, base, run string, rc RunConfig, client *http.Client) (*Remote, error) {
	if client == nil {
		// Shard 0's updates come from many workers at once: keep their connections.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 64
		client = &http.Client{Timeout: 30 * time.Second, Transport: t}
	}
	r := &Remote{base: strings.TrimRight(base, "/"), run: run, client: client}
	if !runIDPattern.MatchString(run) {
		return nil, fmt.Errorf("stripeoverlay: run name %q: want letters, digits, '.', '_' or '-', at most 100", run)
	}
	var info struct {
		Service string `json:"service"`
	}
	if err := r.do(ctx, http.MethodGet, APIPrefix+"/info", nil, &info); err != nil || info.Service != ServiceName {
		if err == nil {
			err = fmt.Errorf("it answered service %q", info.Service)
		}
		return nil, fmt.Errorf("stripeoverlay: %s is not a cachebench Stripe overlay service (%w): start one with 'cachebench env up' and give the CACHEBENCH_STRIPE_URL it prints", r.base, err)
	}
	var made struct {
		Secret string `json:"webhook_secret"`
	}
	if err := r.do(ctx, http.MethodPut, r.runPath(""), rc, &made); err != nil {
		return nil, err
	}
	r.secret = made.Secret
	return r, nil
}

// IsService reports whether base answers as a Service.
func IsService(ctx context.Context, base string, client *http.Client) bool {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	r := &Remote{base: strings.TrimRight(base, "/"), client: client}
	var info struct {
		Service string `json:"service"`
	}
	return r.do(ctx, http.MethodGet, APIPrefix+"/info", nil, &info) == nil && info.Service == ServiceName
}

func (r *Remote) runPath(sub string) string {
	p := APIPrefix + "/runs/" + r.run
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// StripeURL is the run overlay's Stripe API base URL, for the caches' stripe-go clients.
func (r *Remote) StripeURL() string { return r.base + r.runPath("stripe") }

// WebhookSecret is the secret the run's events are signed with.
func (r *Remote) WebhookSecret() string { return r.secret }

// Update is Overlay.Update on the run's overlay.
func (r *Remote) Update(ctx context.Context, objectType, id string, metadata map[string]string) (int64, error) {
	var out struct {
		Version int64 `json:"version"`
	}
	err := r.do(ctx, http.MethodPost, r.runPath("updates"), updateRequest{Object: objectType, ID: id, Metadata: metadata}, &out)
	return out.Version, err
}

// SubscribeURL has the run's overlay POST every later event to endpoint, which any
// address the Service can reach may be.
func (r *Remote) SubscribeURL(ctx context.Context, endpoint string) error {
	return r.do(ctx, http.MethodPost, r.runPath("webhooks"), webhookRequest{URL: endpoint}, nil)
}

// History fetches the run overlay's whole version history.
func (r *Remote) History(ctx context.Context) (*HistorySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+r.runPath("history"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stripeoverlay: history of run %s: %w", r.run, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return nil, fmt.Errorf("stripeoverlay: history of run %s: %w", r.run, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stripeoverlay: history of run %s: HTTP %d: %s", r.run, resp.StatusCode, apiMessage(b))
	}
	return ParseHistory(b)
}

// do sends in as JSON (when not nil) and decodes a 2xx answer into out (when not nil).
func (r *Remote) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, body)
	if err != nil {
		return fmt.Errorf("stripeoverlay: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("stripeoverlay: %s %s%s: %w", method, r.base, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("stripeoverlay: %s %s%s: %w", method, r.base, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("stripeoverlay: %s %s%s: HTTP %d: %s", method, r.base, path, resp.StatusCode, apiMessage(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("stripeoverlay: %s %s%s: bad answer: %w", method, r.base, path, err)
		}
	}
	return nil
}

// apiMessage is the error an API answer carries, or its start.
func apiMessage(b []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		return e.Error
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return strings.TrimSpace(string(b))
}
