package netsim

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the proxies' goroutines to write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestWithLog checks that a proxy's own error lines go to the writer WithLog gives: a
// proxy whose upstream refuses connections says so there.
func TestWithLog(t *testing.T) {
	// A port that was free a moment ago: nothing listens on it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	upstream := ln.Addr().String()
	ln.Close()

	var buf lockedBuffer
	nw := NewNetwork(WithLog(&buf))
	t.Cleanup(func() { nw.Close() })
	p, err := Lookup("none")
	if err != nil {
		t.Fatal(err)
	}
	px, err := nw.Proxy("redis", upstream, p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout("tcp", px.Addr(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "Unable to open connection to upstream") {
		if time.Now().After(deadline) {
			t.Fatalf("no upstream error in the log within 5 s:\n%s", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := buf.String(); !strings.Contains(got, `"component":"netsim"`) || strings.Contains(got, "Accepted client") {
		t.Errorf("log %q: want netsim's warnings and errors only, not the info line per connection", got)
	}
}
