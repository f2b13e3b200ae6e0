package netsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"
)

// ErrClosed is returned by the methods of a Proxy or Network that has been closed.
var ErrClosed = errors.New("netsim: closed")

// listenAddr is where every proxy listens: loopback, on a port the kernel picks.
const listenAddr = "127.0.0.1:0"

// restartTimeout bounds how long ending a down fault retries to listen on the proxy's
// address again (another process may hold the port for a moment).
const restartTimeout = 2 * time.Second

// Network owns one toxiproxy server and the proxies created on it. Proxy names are
// unique within a Network. All methods are safe for concurrent use.
type Network struct {
	server *toxiproxy.ApiServer

	mu      sync.Mutex
	proxies map[*Proxy]struct{}
	closed  bool
}

// NewNetwork returns an empty network. Close it to stop every proxy it made.
func NewNetwork(opts ...Option) *Network {
	logger := zerolog.Nop()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.log != nil {
		// Warnings and errors only: Toxiproxy logs every accepted connection at info.
		logger = zerolog.New(o.log).Level(zerolog.WarnLevel).With().Timestamp().Str("component", "netsim").Logger()
	}
	return &Network{
		server:  toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), logger),
		proxies: make(map[*Proxy]struct{}),
	}
}

// Option configures a Network.
type Option func(*options)

type options struct{ log io.Writer }

// WithLog sends the proxies' own warnings and errors (a failed accept, an upstream that
// refused a connection, a connection cut) to w, one JSON line each. Without it they are
// discarded.
func WithLog(w io.Writer) Option { return func(o *options) { o.log = w } }

// Proxy starts a proxy named name, listening on 127.0.0.1 on a free port, in front of
// upstream (host:port), with the network profile p applied to every connection.
func (n *Network) Proxy(name, upstream string, p Profile) (*Proxy, error) {
	var errs []error
	if name == "" {
		errs = append(errs, errors.New("name is empty; name the proxy after its service, e.g. \"redis\""))
	}
	if _, _, err := net.SplitHostPort(upstream); err != nil {
		errs = append(errs, fmt.Errorf("upstream %q is not host:port: %w", upstream, err))
	}
	if err := p.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("netsim: proxy %q: %w", name, errors.Join(errs...))
	}

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil, fmt.Errorf("netsim: proxy %q: network: %w", name, ErrClosed)
	}
	tp := toxiproxy.NewProxy(n.server, name, listenAddr, upstream)
	if err := n.server.Collection.Add(tp, true); err != nil {
		if errors.Is(err, toxiproxy.ErrProxyAlreadyExists) {
			return nil, fmt.Errorf("netsim: proxy %q already exists in this network; give each proxy its own name", name)
		}
		return nil, fmt.Errorf("netsim: proxy %q: start: %w", name, err)
	}
	px := &Proxy{
		network:  n,
		tp:       tp,
		name:     name,
		upstream: upstream,
		addr:     tp.Listen, // the real address: toxiproxy stores the listener's address once it listens
	}
	if err := px.applyProfile(Profile{}, p); err != nil {
		_ = n.server.Collection.Remove(name)
		return nil, fmt.Errorf("netsim: proxy %q: %w", name, err)
	}
	px.profile = p
	n.proxies[px] = struct{}{}
	return px, nil
}

// Close closes every proxy of the network and the network itself. Closing twice is a
// no-op.
func (n *Network) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	proxies := make([]*Proxy, 0, len(n.proxies))
	for p := range n.proxies {
		proxies = append(proxies, p)
	}
	n.mu.Unlock()

	var errs []error
	for _, p := range proxies {
		errs = append(errs, p.Close())
	}
	return errors.Join(errs...)
}

// Proxy is a TCP proxy on 127.0.0.1 in front of one service: clients dial Addr instead
// of the service. It applies a network Profile to every connection and injects the
// network fault kinds (it implements Injector): down, pause, latency, reset, bandwidth.
//
// Everything a Proxy does is per TCP connection, so it fits services reached on one
// address: standalone Redis, DynamoDB, HTTP. A Redis Cluster cannot sit behind one
// proxy, since its nodes hand clients their own addresses (MOVED replies, CLUSTER
// SLOTS); it needs a proxy per node and a client that maps node addresses to proxies.
//
// All methods are safe for concurrent use.
type Proxy struct {
	network  *Network
	own      bool // made by NewProxy: Close also closes network
	tp       *toxiproxy.Proxy
	name     string
	upstream string
	addr     string

	mu      sync.Mutex
	profile Profile
	downs   int // active down faults; the proxy listens when 0
	seq     int // numbers fault toxics so overlapping faults have their own names
	closed  bool
}

// NewProxy starts a proxy on a network of its own; Close closes both. Use a Network to
// hold several proxies.
func NewProxy(name, upstream string, p Profile) (*Proxy, error) {
	n := NewNetwork()
	px, err := n.Proxy(name, upstream, p)
	if err != nil {
		_ = n.Close()
		return nil, err
	}
	px.own = true
	return px, nil
}

// Name returns the proxy's name.
func (p *Proxy) Name() string { return p.name }

// Upstream returns the host:port the proxy forwards to.
func (p *Proxy) Upstream() string { return p.upstream }

// Addr returns the host:port clients dial: 127.0.0.1 and the port picked when the proxy
// started. It stays the same across down faults.
func (p *Proxy) Addr() string { return p.addr }

// Profile returns the network profile in force.
func (p *Proxy) Profile() Profile {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.profile
}

// SetProfile replaces the network profile. Connections keep flowing; data in flight in
// the old profile's delay is passed on at once.
func (p *Proxy) SetProfile(pr Profile) error {
	if err := pr.Validate(); err != nil {
		return fmt.Errorf("netsim: proxy %q: %w", p.name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("netsim: proxy %q: %w", p.name, ErrClosed)
	}
	if err := p.applyProfile(p.profile, pr); err != nil {
		return fmt.Errorf("netsim: proxy %q: %w", p.name, err)
	}
	p.profile = pr
	return nil
}

// Names of the profile's toxics; one per direction.
const (
	profileLatency   = "profile_latency"
	profileBandwidth = "profile_bandwidth"
)

// applyProfile swaps the toxics of old for those of pr. Toxics are removed and added
// rather than updated: toxiproxy updates a toxic's settings while its connections read
// them, which is a data race.
func (p *Proxy) applyProfile(old, pr Profile) error {
	if old.Latency != pr.Latency || old.Jitter != pr.Jitter {
		if old.Latency > 0 {
			if err := p.removeToxics(profileLatency); err != nil {
				return err
			}
		}
		if pr.Latency > 0 {
			if err := p.addToxics(profileLatency, toxicLatency, latencyAttrs(pr.Latency, pr.Jitter)); err != nil {
				return err
			}
		}
	}
	if old.Bandwidth != pr.Bandwidth {
		if old.Bandwidth > 0 {
			if err := p.removeToxics(profileBandwidth); err != nil {
				return err
			}
		}
		if pr.Bandwidth > 0 {
			if err := p.addToxics(profileBandwidth, "bandwidth", bandwidthAttrs(pr.Bandwidth)); err != nil {
				return err
			}
		}
	}
	return nil
}

// latencyAttrs splits a round-trip latency and its standard deviation into the
// settings of the per-direction toxic: half the mean each way and 1/√2 of the standard
// deviation, so the two independent delays add up to the round trip's figures.
func latencyAttrs(rtt, jitter time.Duration) map[string]any {
	return map[string]any{
		"mean_ns":   int64(rtt) / 2,
		"stddev_ns": int64(float64(jitter) / math.Sqrt2),
	}
}

// bandwidthAttrs converts bytes per second to the unit of toxiproxy's bandwidth toxic:
// its "rate" is in KB/s with KB = 1000 bytes (it sleeps len(data) ms / rate).
func bandwidthAttrs(bytesPerSecond int64) map[string]any {
	return map[string]any{"rate": max((bytesPerSecond+500)/1000, 1)}
}

// streams returns the two directions of a connection, as toxiproxy names them.
func streams() [2]string { return [2]string{"upstream", "downstream"} }

// addToxics adds a toxic of type typ on both directions, named name_upstream and
// name_downstream. It adds both or neither.
func (p *Proxy) addToxics(name, typ string, attrs map[string]any) error {
	dirs := streams()
	for i, s := range dirs {
		body, err := json.Marshal(map[string]any{
			"name":       name + "_" + s,
			"type":       typ,
			"stream":     s,
			"toxicity":   1.0,
			"attributes": attrs,
		})
		if err != nil {
			return fmt.Errorf("add toxic %s: %w", name, err)
		}
		if _, err := p.tp.Toxics.AddToxicJson(bytes.NewReader(body)); err != nil {
			if i > 0 {
				_ = p.tp.Toxics.RemoveToxic(context.Background(), name+"_"+dirs[0])
			}
			return fmt.Errorf("add toxic %s_%s: %w", name, s, err)
		}
	}
	return nil
}

// removeToxics removes the toxics addToxics added under name.
func (p *Proxy) removeToxics(name string) error {
	var errs []error
	for _, s := range streams() {
		if err := p.tp.Toxics.RemoveToxic(context.Background(), name+"_"+s); err != nil {
			errs = append(errs, fmt.Errorf("remove toxic %s_%s: %w", name, s, err))
		}
	}
	return errors.Join(errs...)
}

// SupportsKind reports whether Inject accepts faults of kind: the network kinds.
func (p *Proxy) SupportsKind(kind string) bool {
	switch kind {
	case KindDown, KindPause, KindLatency, KindReset, KindBandwidth:
		return true
	}
	return false
}

// Inject starts fault f at once and returns the function that ends it; calling clear
// more than once is a no-op. Faults of different kinds, or of the same kind, may
// overlap; each has its own toxics. What each kind does:
//
//   - down: the proxy stops listening (new connections are refused) and closes every
//     open connection. Clearing listens again on the same address. Overlapping downs
//     keep the proxy down until the last one ends.
//   - pause: connections are still accepted (and the proxy dials the service) but no
//     byte passes in either direction; what is sent is held, not dropped, and delivered
//     in order when the pause ends, followed by any close that happened meanwhile.
//   - latency: f.Latency ± f.Jitter on every round trip, on top of the profile, split
//     and distributed as the profile's latency is (see Profile).
//   - reset: the first data to arrive on a connection, in either direction, closes it:
//     with a TCP RST for connections opened during the fault; connections opened before
//     it are closed with a FIN, since toxiproxy can only set SO_LINGER=0 when a
//     connection starts.
//   - bandwidth: at most f.Bandwidth bytes per second each way, on top of the profile's
//     limit (the lower one wins).
//
// The HTTP kinds (rate_limit, errors) belong to the Stripe overlay and are rejected.
func (p *Proxy) Inject(f Fault) (clear func() error, err error) {
	if err := ValidateFault(f); err != nil {
		return nil, fmt.Errorf("netsim: proxy %q: %w", p.name, err)
	}
	if !p.SupportsKind(f.Kind) {
		return nil, fmt.Errorf("netsim: proxy %q: fault kind %q is an HTTP fault served by the Stripe overlay, not by a network proxy; "+
			"use one of %s, %s, %s, %s, %s here", p.name, f.Kind, KindDown, KindPause, KindLatency, KindReset, KindBandwidth)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("netsim: proxy %q: inject %s: %w", p.name, f.Kind, ErrClosed)
	}
	if f.Kind == KindDown {
		p.downs++
		if p.downs == 1 {
			p.tp.Stop()
		}
		return onceErr(p.endDown), nil
	}

	p.seq++
	name := fmt.Sprintf("fault%d_%s", p.seq, f.Kind)
	var typ string
	var attrs map[string]any
	switch f.Kind {
	case KindPause:
		typ, attrs = toxicPause, map[string]any{}
	case KindLatency:
		typ, attrs = toxicLatency, latencyAttrs(f.Latency, f.Jitter)
	case KindReset:
		typ, attrs = "reset_peer", map[string]any{"timeout": 0}
	case KindBandwidth:
		typ, attrs = "bandwidth", bandwidthAttrs(f.Bandwidth)
	}
	if err := p.addToxics(name, typ, attrs); err != nil {
		return nil, fmt.Errorf("netsim: proxy %q: inject %s: %w", p.name, f.Kind, err)
	}
	return onceErr(func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.closed {
			return nil // Close removed every toxic
		}
		if err := p.removeToxics(name); err != nil {
			return fmt.Errorf("netsim: proxy %q: clear %s: %w", p.name, f.Kind, err)
		}
		return nil
	}), nil
}

// endDown ends one down fault and listens again, on the same address, once none is left.
func (p *Proxy) endDown() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.downs--
	if p.downs > 0 || p.closed {
		return nil
	}
	deadline := time.Now().Add(restartTimeout)
	for {
		err := p.tp.Start()
		if err == nil || errors.Is(err, toxiproxy.ErrProxyAlreadyStarted) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netsim: proxy %q: clear down: listen again on %s: %w", p.name, p.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onceErr wraps f so that only its first call runs; later calls return nil.
func onceErr(f func() error) func() error {
	var once sync.Once
	return func() error {
		var err error
		once.Do(func() { err = f() })
		return err
	}
}

// Close removes every toxic (data held by a pause is passed on), stops the proxy and
// closes its connections. Faults still active end with it; their clear functions then
// do nothing. Closing twice is a no-op.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.tp.Toxics.ResetToxics(context.Background())
	err := p.network.server.Collection.Remove(p.name)
	if err != nil && !errors.Is(err, toxiproxy.ErrProxyNotFound) {
		err = fmt.Errorf("netsim: proxy %q: close: %w", p.name, err)
	} else {
		err = nil
	}
	p.mu.Unlock()

	n := p.network
	n.mu.Lock()
	delete(n.proxies, p)
	n.mu.Unlock()
	if p.own {
		return errors.Join(err, n.Close())
	}
	return err
}
