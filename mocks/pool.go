package mocks

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
)

// boundedTransport is an HTTP transport that opens at most maxConns connections per
// host and keeps every one of them for reuse when idle: under load the pool grows to
// the concurrency it sees, up to the bound, and stays there instead of opening and
// closing connections (each of which costs the process two file descriptors per
// in-process hop).
func boundedTransport(maxConns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxConnsPerHost = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.MaxIdleConns = 4 * maxConns
	return t
}

// pooledTransport counts the requests in flight per service in front of a bounded
// transport, and those that found the pool full (and so waited for a connection).
type pooledTransport struct {
	next     *http.Transport
	max      int64
	services map[string]*poolCounter // by host:port
}

type poolCounter struct {
	name            string
	inFlight, waits atomic.Int64
}

func newPooledTransport(next *http.Transport, maxConns int, hosts map[string]string) *pooledTransport {
	p := &pooledTransport{next: next, max: int64(maxConns), services: map[string]*poolCounter{}}
	for host, name := range hosts {
		if host != "" {
			p.services[host] = &poolCounter{name: name}
		}
	}
	return p
}

// RoundTrip implements http.RoundTripper. The response body is the transport's own, so
// the connection returns to the pool when the caller reads the body to its end and
// closes it, as stripe-go, the AWS SDK and the overlay do.
func (p *pooledTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c := p.services[r.URL.Host]
	if c == nil {
		return p.next.RoundTrip(r)
	}
	if c.inFlight.Add(1) > p.max {
		c.waits.Add(1)
	}
	defer c.inFlight.Add(-1)
	return p.next.RoundTrip(r)
}

// CloseIdleConnections closes the pool's idle connections.
func (p *pooledTransport) CloseIdleConnections() { p.next.CloseIdleConnections() }

func (p *pooledTransport) waits() map[string]int64 {
	out := map[string]int64{}
	for _, c := range p.services {
		out[c.name] += c.waits.Load()
	}
	return out
}

// handlerTransport answers requests by calling an in-process handler directly, with no
// socket between them: the Stripe overlay reaches the embedded stripe-mock this way, so
// that hop costs neither file descriptors nor the kernel's and the HTTP stack's time,
// which at thousands of requests a second would make the harness the limit.
type handlerTransport struct{ h http.Handler }

// RoundTrip implements http.RoundTripper.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	req := r.Clone(r.Context())
	req.RequestURI = req.URL.RequestURI()
	if req.Body == nil {
		req.Body = http.NoBody
	}
	defer req.Body.Close()
	rec := &bufferedResponse{header: http.Header{}}
	t.h.ServeHTTP(rec, req)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	return &http.Response{
		Status:        strconv.Itoa(status) + " " + http.StatusText(status),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        rec.header,
		Body:          io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		ContentLength: int64(rec.body.Len()),
		Request:       r,
	}, nil
}
