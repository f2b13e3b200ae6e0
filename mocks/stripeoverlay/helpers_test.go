package stripeoverlay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-mock/embedded"
	"github.com/stripe/stripe-mock/server"

	"github.com/cachebench/cachebench/mocks/stripeoverlay"
)

// upstream is the base URL of the stripe-mock every test's overlay fronts: stripe-mock's
// own server package with its bundled spec and fixtures, in this process, on loopback.
var upstream string

func TestMain(m *testing.M) {
	u, stop, err := startStripeMock()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start stripe-mock:", err)
		os.Exit(1)
	}
	upstream = u
	code := m.Run()
	stop()
	os.Exit(code)
}

func startStripeMock() (string, func(), error) {
	spec, err := server.LoadSpec(embedded.OpenAPISpec, "")
	if err != nil {
		return "", nil, err
	}
	fixtures, err := server.LoadFixtures(embedded.OpenAPIFixtures, "")
	if err != nil {
		return "", nil, err
	}
	stub, err := server.NewStubServer(fixtures, spec, false, false)
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", stub.HandleRequest)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: &server.DoubleSlashFixHandler{Mux: mux}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// start returns a started overlay in front of stripe-mock, closed when t ends.
func start(t *testing.T, cfg stripeoverlay.Config) *stripeoverlay.Overlay {
	t.Helper()
	cfg.Upstream = upstream
	o, err := stripeoverlay.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := o.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := o.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o
}

// stripeClient is a stripe-go client for base that makes no retries of its own, as
// mocks.Env builds them.
func stripeClient(base string) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(base),
		HTTPClient:        &http.Client{Timeout: 10 * time.Second},
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New("sk_test_cachebench", &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// answer is one raw HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, a.body)
	}
	return m
}

var rawClient = &http.Client{Timeout: 10 * time.Second}

// do makes one raw request; form, when not nil, is sent form-encoded.
func do(t testing.TB, method, u string, form url.Values) answer {
	t.Helper()
	a, err := doErr(method, u, form)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// doErr is do for goroutines other than the test's.
func doErr(method, u string, form url.Values) (answer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return answer{}, err
	}
	req.SetBasicAuth("sk_test_cachebench", "")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// metadataOf returns an object's metadata.
func metadataOf(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	md, ok := obj["metadata"].(map[string]any)
	if !ok {
		t.Fatalf("object has no metadata: %v", obj)
	}
	return md
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// recorder is an in-process webhook subscriber that keeps what it gets.
type recorder struct {
	mu   sync.Mutex
	got  []delivered
	fail bool
}

type delivered struct {
	payload   []byte
	signature string
}

func (r *recorder) deliver(_ context.Context, payload []byte, signature string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, delivered{payload: append([]byte(nil), payload...), signature: signature})
	if r.fail {
		return fmt.Errorf("refused")
	}
	return nil
}

func (r *recorder) all() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivered(nil), r.got...)
}

func drain(t *testing.T, o *stripeoverlay.Overlay) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := o.Drain(ctx); err != nil {
		t.Fatal(err)
	}
}
