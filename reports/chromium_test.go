package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// This file loads the HTML reports in a real headless Chromium and drives it with the
// Chrome DevTools Protocol over --remote-debugging-pipe (NUL-separated JSON on file
// descriptors 3 and 4), so no websocket library is needed. The page's own target is
// watched, so Chromium's background traffic is not mistaken for the page's.

// findChromium returns the Chromium binary, or skips (fails under CI=true or
// CACHEBENCH_REQUIRE_SERVICES=1) when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CACHEBENCH_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium or chromium-browser in PATH (install the Debian package chromium: scripts/provision.sh does)"
	if os.Getenv("CI") == "true" || os.Getenv("CACHEBENCH_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("CACHEBENCH_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("create artifacts folder: %v", err)
		}
		return d
	}
	return t.TempDir()
}

// cdpMessage is a CDP response or event.
type cdpMessage struct {
	ID        int64           `json:"id"`
	SessionID string          `json:"sessionId"`
	Method    string          `json:"method"`
	Params    json.RawMessage `json:"params"`
	Result    json.RawMessage `json:"result"`
	Error     *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// cdpConn is one browser's DevTools pipe.
type cdpConn struct {
	w      *os.File
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[int64]chan cdpMessage
	events  []cdpMessage
	readErr error
	newEv   chan struct{}
}

func newCDPConn(w *os.File, r *os.File) *cdpConn {
	c := &cdpConn{w: w, pending: map[int64]chan cdpMessage{}, newEv: make(chan struct{}, 1)}
	go func() {
		br := bufio.NewReaderSize(r, 1<<20)
		for {
			b, err := br.ReadBytes(0)
			if err != nil {
				c.mu.Lock()
				c.readErr = err
				for id, ch := range c.pending {
					close(ch)
					delete(c.pending, id)
				}
				c.mu.Unlock()
				return
			}
			var m cdpMessage
			if err := json.Unmarshal(b[:len(b)-1], &m); err != nil {
				continue
			}
			c.mu.Lock()
			if m.ID != 0 {
				if ch, ok := c.pending[m.ID]; ok {
					ch <- m
					delete(c.pending, m.ID)
				}
			} else {
				c.events = append(c.events, m)
				select {
				case c.newEv <- struct{}{}:
				default:
				}
			}
			c.mu.Unlock()
		}
	}()
	return c
}

// call sends a command (to the browser when session is "") and waits for its answer.
func (c *cdpConn) call(ctx context.Context, session, method string, params any, result any) error {
	id := c.nextID.Add(1)
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if session != "" {
		msg["sessionId"] = session
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ch := make(chan cdpMessage, 1)
	c.mu.Lock()
	if c.readErr != nil {
		c.mu.Unlock()
		return fmt.Errorf("cdp %s: pipe closed: %w", method, c.readErr)
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if _, err := c.w.Write(append(b, 0)); err != nil {
		return fmt.Errorf("cdp %s: %w", method, err)
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return fmt.Errorf("cdp %s: browser closed the pipe", method)
		}
		if m.Error != nil {
			return fmt.Errorf("cdp %s: %s (%d)", method, m.Error.Message, m.Error.Code)
		}
		if result != nil {
			return json.Unmarshal(m.Result, result)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cdp %s: %w", method, ctx.Err())
	}
}

// takeEvents returns and forgets the events received so far for session.
func (c *cdpConn) takeEvents(session string) []cdpMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	var mine, rest []cdpMessage
	for _, e := range c.events {
		if e.SessionID == session {
			mine = append(mine, e)
		} else {
			rest = append(rest, e)
		}
	}
	c.events = rest
	return mine
}

// waitEvent waits until an event named method arrived for session.
func (c *cdpConn) waitEvent(ctx context.Context, session, method string) error {
	for {
		c.mu.Lock()
		for _, e := range c.events {
			if e.SessionID == session && e.Method == method {
				c.mu.Unlock()
				return nil
			}
		}
		c.mu.Unlock()
		select {
		case <-c.newEv:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}

// browser is a headless Chromium with one page target attached.
type browser struct {
	conn    *cdpConn
	session string
}

// startChromium starts headless Chromium with a fresh profile, its DevTools protocol on
// a pipe, and every HTTP(S) request (loopback included) sent to a local proxy that
// answers nothing, so neither the page nor Chromium's own background services reach
// any network. The browser is closed by t.Cleanup.
func startChromium(ctx context.Context, t *testing.T, bin string) *browser {
	t.Helper()
	// A black-hole proxy: accepts and closes, so nothing leaves the machine.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for the black-hole proxy: %v", err)
	}
	var proxied atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			proxied.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		t.Logf("chromium's own background connections sent to the black-hole proxy: %d", proxied.Load())
	})

	toBrowserR, toBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromBrowserR, fromBrowserW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	profile := t.TempDir()
	cmd := exec.Command(bin,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--disable-default-apps", "--no-default-browser-check",
		"--user-data-dir="+profile,
		"--proxy-server=http://"+ln.Addr().String(), "--proxy-bypass-list=<-loopback>",
		"--remote-debugging-pipe",
		"--window-size=1280,900",
		"about:blank")
	var stderr bytes.Buffer
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{toBrowserR, fromBrowserW} // fds 3 and 4
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	toBrowserR.Close()
	fromBrowserW.Close()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	conn := newCDPConn(toBrowserW, fromBrowserR)
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = conn.call(cctx, "", "Browser.close", nil, nil)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		toBrowserW.Close()
		fromBrowserR.Close()
		if t.Failed() {
			t.Logf("chromium output (tail):\n%s", tail(stderr.String(), 3000))
		}
	})

	var created struct {
		TargetID string `json:"targetId"`
	}
	if err := conn.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &created); err != nil {
		t.Fatalf("chromium: %v\n%s", err, tail(stderr.String(), 3000))
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := conn.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": created.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	b := &browser{conn: conn, session: attached.SessionID}
	for _, domain := range []string{"Page.enable", "Network.enable", "Runtime.enable", "Log.enable"} {
		if err := conn.call(ctx, b.session, domain, nil, nil); err != nil {
			t.Fatalf("chromium: %v", err)
		}
	}
	return b
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// pageLoad is what a page did while it loaded.
type pageLoad struct {
	// Requests are the URLs the page asked for besides itself (data: excluded).
	Requests []string
	// Console holds console calls, uncaught exceptions and error or warning log entries
	// (CSP violations and failed loads land here).
	Console []string
	// SVGs describes every <svg> element as rendered.
	SVGs []svgInfo
	// Toggle is what unticking, then ticking again, the page's first series checkbox did.
	Toggle toggleInfo
}

// toggleInfo counts the page's series checkboxes and, for the first, the paths and hits
// of its chart hidden before, while and after it was unticked.
type toggleInfo struct {
	Boxes      int `json:"boxes"`
	Before     int `json:"before"`
	Hidden     int `json:"hidden"`
	HiddenHits int `json:"hiddenHits"`
	After      int `json:"after"`
}

// toggleProbe unticks the first series checkbox, counts what it hid, and ticks it again.
const toggleProbe = `(function () {
	var boxes = document.querySelectorAll('figure input[data-s]');
	if (boxes.length === 0) { return JSON.stringify({boxes: 0}); }
	var box = boxes[0], fig = box.closest('figure');
	var hidden = function (sel) { return Array.from(fig.querySelectorAll(sel)).filter(function (e) { return e.style.display === 'none'; }).length; };
	var out = {boxes: boxes.length, before: hidden('svg path')};
	box.checked = false; box.dispatchEvent(new Event('change', {bubbles: true}));
	out.hidden = hidden('svg path'); out.hiddenHits = hidden('svg .hit');
	box.checked = true; box.dispatchEvent(new Event('change', {bubbles: true}));
	out.after = hidden('svg path');
	return JSON.stringify(out);
})()`

type svgInfo struct {
	Label    string  `json:"label"`
	Children int     `json:"children"`
	Paths    int     `json:"paths"`
	Texts    int     `json:"texts"`
	Hits     int     `json:"hits"`
	Titled   int     `json:"titled"`
	Width    float64 `json:"width"`
	Height   float64 `json:"height"`
}

// load navigates to url, waits for the load event and a short settle, inspects the DOM
// and saves a full-page screenshot to shot.
func (b *browser) load(ctx context.Context, url, shot string) (pageLoad, error) {
	var pl pageLoad
	b.conn.takeEvents(b.session) // forget the previous page
	var nav struct {
		ErrorText string `json:"errorText"`
	}
	if err := b.conn.call(ctx, b.session, "Page.navigate", map[string]any{"url": url}, &nav); err != nil {
		return pl, err
	}
	if nav.ErrorText != "" {
		return pl, fmt.Errorf("navigate to %s: %s", url, nav.ErrorText)
	}
	if err := b.conn.waitEvent(ctx, b.session, "Page.loadEventFired"); err != nil {
		return pl, err
	}
	time.Sleep(300 * time.Millisecond) // late requests or console messages

	const probe = `JSON.stringify(Array.from(document.querySelectorAll('svg')).map(function (s) {
		var r = s.getBoundingClientRect();
		return {label: s.getAttribute('aria-label') || '', children: s.childElementCount,
			paths: s.querySelectorAll('path').length, texts: s.querySelectorAll('text').length,
			hits: s.querySelectorAll('.hit').length, titled: s.querySelectorAll('.hit > title').length,
			width: r.width, height: r.height};
	}))`
	var ev struct {
		Result struct {
			Value string `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := b.conn.call(ctx, b.session, "Runtime.evaluate", map[string]any{"expression": probe, "returnByValue": true}, &ev); err != nil {
		return pl, err
	}
	if len(ev.ExceptionDetails) > 0 {
		return pl, fmt.Errorf("probe failed: %s", ev.ExceptionDetails)
	}
	if err := json.Unmarshal([]byte(ev.Result.Value), &pl.SVGs); err != nil {
		return pl, fmt.Errorf("probe answer %q: %w", ev.Result.Value, err)
	}
	ev.Result.Value, ev.ExceptionDetails = "", nil
	if err := b.conn.call(ctx, b.session, "Runtime.evaluate", map[string]any{"expression": toggleProbe, "returnByValue": true}, &ev); err != nil {
		return pl, err
	}
	if len(ev.ExceptionDetails) > 0 {
		return pl, fmt.Errorf("toggle probe failed: %s", ev.ExceptionDetails)
	}
	if err := json.Unmarshal([]byte(ev.Result.Value), &pl.Toggle); err != nil {
		return pl, fmt.Errorf("toggle probe answer %q: %w", ev.Result.Value, err)
	}

	var metrics struct {
		CSSContentSize struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	if err := b.conn.call(ctx, b.session, "Page.getLayoutMetrics", nil, &metrics); err != nil {
		return pl, err
	}
	var shotRes struct {
		Data string `json:"data"`
	}
	clip := map[string]any{"x": 0, "y": 0, "width": metrics.CSSContentSize.Width, "height": min(metrics.CSSContentSize.Height, 16000), "scale": 1}
	if err := b.conn.call(ctx, b.session, "Page.captureScreenshot", map[string]any{"format": "png", "clip": clip, "captureBeyondViewport": true}, &shotRes); err != nil {
		return pl, err
	}
	png, err := base64.StdEncoding.DecodeString(shotRes.Data)
	if err != nil {
		return pl, fmt.Errorf("decode screenshot: %w", err)
	}
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		return pl, err
	}

	for _, e := range b.conn.takeEvents(b.session) {
		switch e.Method {
		case "Network.requestWillBeSent":
			var p struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			}
			json.Unmarshal(e.Params, &p)
			if p.Request.URL != url && !strings.HasPrefix(p.Request.URL, "data:") {
				pl.Requests = append(pl.Requests, p.Request.URL)
			}
		case "Runtime.consoleAPICalled":
			var p struct {
				Type string `json:"type"`
				Args []struct {
					Value any `json:"value"`
				} `json:"args"`
			}
			json.Unmarshal(e.Params, &p)
			pl.Console = append(pl.Console, fmt.Sprintf("console.%s %v", p.Type, p.Args))
		case "Runtime.exceptionThrown":
			pl.Console = append(pl.Console, "exception: "+string(e.Params))
		case "Log.entryAdded":
			var p struct {
				Entry struct {
					Level string `json:"level"`
					Text  string `json:"text"`
					URL   string `json:"url"`
				} `json:"entry"`
			}
			json.Unmarshal(e.Params, &p)
			if p.Entry.Level == "error" || p.Entry.Level == "warning" {
				pl.Console = append(pl.Console, fmt.Sprintf("log %s: %s %s", p.Entry.Level, p.Entry.Text, p.Entry.URL))
			}
		}
	}
	return pl, nil
}

func fileURL(path string) string {
	abs, _ := filepath.Abs(path)
	return "file://" + filepath.ToSlash(abs)
}

// TestHTMLInChromium loads the run and sweep reports in headless Chromium and checks that
// they make no network request, log no console error, and render every chart with
// content. A control page that does fetch and log is loaded first, to show the checks
// would catch it. Screenshots are kept under $CACHEBENCH_ARTIFACTS (or a temp folder).
func TestHTMLInChromium(t *testing.T) {
	bin := findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	dir := artifactsDir(t)

	r := fixtureResult(t)
	var run, sweep bytes.Buffer
	if err := WriteHTML(&run, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteSweepHTML(&sweep, Sweep(sweepFixture(t))); err != nil {
		t.Fatal(err)
	}
	// Three sides of three repeats each: the baseline, one clearly faster, one about the same.
	var cmp bytes.Buffer
	sides := []Side{
		{Label: "lru", Results: repeats(t, "lru", 3, []float64{10000, 10200, 9800}, []float64{0.80, 0.81, 0.79})},
		{Label: "tinylfu", Results: repeats(t, "tinylfu", 3, []float64{8000, 8100, 7900}, []float64{0.86, 0.87, 0.85})},
		{Label: "map", Results: repeats(t, "map", 3, []float64{10100, 9900, 10300}, []float64{0.80, 0.78, 0.82})},
	}
	if err := WriteCompareHTML(&cmp, CompareSides(sides)); err != nil {
		t.Fatal(err)
	}
	var sweep2 bytes.Buffer
	if err := WriteSweepHTML(&sweep2, Sweep(twoKeySweep(t))); err != nil {
		t.Fatal(err)
	}
	control := `<!DOCTYPE html><html><head><title>control</title></head><body>
<img src="http://198.51.100.1/x.png"><script>console.error("control error")</script></body></html>`
	pages := map[string][]byte{"report.html": run.Bytes(), "sweep.html": sweep.Bytes(), "compare.html": cmp.Bytes(), "sweep2.html": sweep2.Bytes(), "control.html": []byte(control)}
	for name, data := range pages {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	b := startChromium(ctx, t, bin)

	// The control page: the harness must see its request and its console error.
	pl, err := b.load(ctx, fileURL(filepath.Join(dir, "control.html")), filepath.Join(dir, "control.png"))
	if err != nil {
		t.Fatalf("load control page: %v", err)
	}
	if len(pl.Requests) == 0 || len(pl.Console) == 0 {
		t.Fatalf("the harness missed the control page's request or console error: requests %v, console %v", pl.Requests, pl.Console)
	}

	for _, tc := range []struct {
		page       string
		wantCharts int
		toggles    bool // some chart has several series to hide
	}{{"report.html", 6, true}, {"sweep.html", 5, true}, {"compare.html", 7, true}, {"sweep2.html", 6, false}} {
		t.Run(tc.page, func(t *testing.T) {
			shot := filepath.Join(dir, strings.TrimSuffix(tc.page, ".html")+".png")
			pl, err := b.load(ctx, fileURL(filepath.Join(dir, tc.page)), shot)
			if err != nil {
				t.Fatalf("load %s: %v", tc.page, err)
			}
			t.Logf("screenshot: %s", shot)
			if len(pl.Requests) > 0 {
				t.Errorf("the page made network requests: %v", pl.Requests)
			}
			if len(pl.Console) > 0 {
				t.Errorf("the page logged errors: %v", pl.Console)
			}
			if len(pl.SVGs) != tc.wantCharts {
				t.Errorf("rendered %d <svg> charts, want %d: %+v", len(pl.SVGs), tc.wantCharts, pl.SVGs)
			}
			for _, s := range pl.SVGs {
				if s.Label == "" || s.Children == 0 || s.Paths < 5 || s.Texts < 3 || s.Width < 100 || s.Height < 50 {
					t.Errorf("chart %q rendered empty or tiny: %+v", s.Label, s)
				}
				// Values on demand: every chart has marks to point at, each with its text.
				if s.Hits == 0 || s.Titled != s.Hits {
					t.Errorf("chart %q: %d hits, %d with a title; want some, all titled", s.Label, s.Hits, s.Titled)
				}
			}
			// Unticking a series hides its marks and hits; ticking it shows them again.
			tg := pl.Toggle
			t.Logf("series checkboxes: %+v", tg)
			if tc.toggles && (tg.Boxes == 0 || tg.Before != 0 || tg.Hidden == 0 || tg.HiddenHits == 0 || tg.After != 0) {
				t.Errorf("series toggle: %+v; want boxes, nothing hidden before, paths and hits hidden while unticked, none after", tg)
			}
			st, err := os.Stat(shot)
			if err != nil || st.Size() < 10_000 {
				t.Errorf("screenshot %s missing or too small (%v)", shot, err)
			}
		})
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the chromium test ran out of time")
	}
}
