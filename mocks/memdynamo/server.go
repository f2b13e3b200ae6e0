package memdynamo

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// targetPrefix starts the X-Amz-Target header of every DynamoDB request.
	targetPrefix = "DynamoDB_20120810."
	// maxRequestBytes is DynamoDB's 16 MB request limit, plus room for the
	// JSON around the items.
	maxRequestBytes = 16*1024*1024 + 64*1024
	// maxJSONDepth bounds the nesting of a request body: 32 levels of Maps and
	// Lists take 2 JSON levels each, plus the request's own structure.
	maxJSONDepth = 2*maxNestingDepth + 16
)

// Server is an in-memory DynamoDB stand-in (in-memory L3 stand-in, not
// DynamoDB). It implements http.Handler, speaking DynamoDB's JSON 1.0
// protocol, so an aws-sdk-go-v2 dynamodb.Client whose BaseEndpoint points at it
// works unchanged. A Server is safe for concurrent use.
type Server struct {
	mu     sync.RWMutex // guards tables (each table has its own lock for items)
	tables map[string]*table
	now    func() time.Time

	lifeMu sync.Mutex // guards the fields below
	srv    *http.Server
	done   chan struct{}
}

// New returns a Server with no tables. Use it as an http.Handler, or call
// Start to serve it on a loopback port.
func New() *Server {
	return &Server{tables: map[string]*table{}, now: time.Now}
}

// SetClock makes now the Server's clock, which decides when an item's TTL attribute has
// passed (expired items are hidden from reads and scans, as DynamoDB's read-time check
// would) and stamps tables' creation times. nil restores the wall clock. Call it before
// the Server serves requests: the clock is read without a lock.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.now = now
}

// clock returns the current time (a test may replace s.now).
func (s *Server) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// Start listens on a free port of 127.0.0.1 (loopback only), serves the
// Server there in a goroutine, and returns its endpoint, such as
// "http://127.0.0.1:41235", for dynamodb.Options.BaseEndpoint. Start fails if
// the Server is already started; after Close it may be started again, keeping
// its tables.
func (s *Server) Start() (endpoint string, err error) {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.srv != nil {
		return "", errors.New("memdynamo: server already started")
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("memdynamo: listen on 127.0.0.1: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	s.srv, s.done = srv, done
	return "http://" + ln.Addr().String(), nil
}

// Close stops the listener started by Start and closes its connections. It
// does nothing if the Server is not started.
func (s *Server) Close() error {
	s.lifeMu.Lock()
	defer s.lifeMu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Close()
	<-s.done
	s.srv, s.done = nil, nil
	if err != nil {
		return fmt.Errorf("memdynamo: close: %w", err)
	}
	return nil
}

// ServeHTTP answers one DynamoDB API request: POST / with an X-Amz-Target of
// "DynamoDB_20120810.<Operation>" and a JSON body. GET / answers a health
// check, as DynamoDB's endpoints do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			writeError(w, internalf("memdynamo: internal error: %v", v))
		}
	}()
	if r.Method == http.MethodGet && r.URL.Path == "/" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "healthy: memdynamo (in-memory L3 stand-in, not DynamoDB)")
		return
	}
	if r.Method != http.MethodPost {
		e := unknownOperationf("memdynamo accepts only POST / (and GET / as a health check), not %s", r.Method)
		e.status = http.StatusMethodNotAllowed
		writeError(w, e)
		return
	}
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		writeError(w, unknownOperationf("Unknown X-Amz-Target %q: expected %s<Operation>", target, targetPrefix))
		return
	}
	handler := s.handlerFor(op)
	if handler == nil {
		writeError(w, unsupportedOperation(op))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			e := validationf("Request size exceeded the maximum allowed size of %d bytes", maxRequestBytes)
			e.status = http.StatusRequestEntityTooLarge
			writeError(w, e)
			return
		}
		writeError(w, serializationf("reading the request body: %v", err))
		return
	}
	resp, err := handler(body)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = internalf("memdynamo: %v", err)
		}
		writeError(w, ae)
		return
	}
	out, err := json.Marshal(resp)
	if err != nil {
		writeError(w, internalf("memdynamo: encoding the response: %v", err))
		return
	}
	writeBody(w, http.StatusOK, out)
}

// decodeRequest decodes a JSON request body into in. Validation errors from
// attribute values come back as they are; malformed JSON becomes a
// SerializationException.
func decodeRequest(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if jsonDepthExceeds(body, maxJSONDepth) {
		return validationf("Nesting Levels have exceeded supported limits")
	}
	if err := json.Unmarshal(body, in); err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			return ae
		}
		return serializationf("%v", err)
	}
	return nil
}

// jsonDepthExceeds reports whether the JSON text b nests objects and arrays
// deeper than limit. It guards the recursive attribute value decoder.
func jsonDepthExceeds(b []byte, limit int) bool {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > limit {
				return true
			}
		case '}', ']':
			depth--
		}
	}
	return false
}

type errorBody struct {
	Type    string   `json:"__type"`
	Message string   `json:"message"`
	Item    itemJSON `json:"Item,omitempty"`
}

func writeError(w http.ResponseWriter, e *apiError) {
	out, err := json.Marshal(errorBody{Type: e.typ, Message: e.message, Item: e.item})
	if err != nil {
		out = []byte(`{"__type":"` + errInternalServer + `","message":"memdynamo: encoding an error failed"}`)
	}
	writeBody(w, e.status, out)
}

// writeBody sends a DynamoDB response, with the X-Amz-Crc32 header the SDK
// checks: the IEEE CRC32 of the exact body bytes.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("X-Amzn-Requestid", rand.Text())
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
