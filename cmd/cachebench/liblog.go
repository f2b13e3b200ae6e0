package main

import (
	"context"
	"fmt"
	"io"
	stdlog "log"
	"os"
	"path/filepath"
	"sync"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"
	zlog "github.com/rs/zerolog/log"
)

// libraryLog is the file the client libraries' own log lines go to during a run
// (cachebench.log in the run's folder): go-redis's pool messages, the HTTP servers' accept
// errors, Toxiproxy's and the standard logger's lines. On the terminal they would break
// the progress line and the summary; in the file they are kept for whoever needs them.
type libraryLog struct {
	mu sync.Mutex
	f  *os.File
}

// openLibraryLog creates dir/cachebench.log and points the libraries' loggers at it.
// go-redis, zerolog (through Toxiproxy) and the log package offer only process-wide
// loggers, so they are set here, once, by the command line that owns the process.
func openLibraryLog(dir string) (*libraryLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "cachebench.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	l := &libraryLog{f: f}
	redis.SetLogger(redisLogger{l})
	zlog.Logger = zerolog.New(l).With().Timestamp().Logger()
	stdlog.SetOutput(l)
	return l, nil
}

// Write appends p to the file; it is safe for concurrent use.
func (l *libraryLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Write(p)
}

// Close restores the standard logger and closes the file.
func (l *libraryLog) Close() error {
	stdlog.SetOutput(io.Discard)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.f.Close()
}

// redisLogger adapts the file to go-redis's logger.
type redisLogger struct{ w io.Writer }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	fmt.Fprintf(r.w, "go-redis: "+format+"\n", v...)
}
