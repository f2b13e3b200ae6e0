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
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// libraryLog is the file the client libraries' own log lines go to during a run
// (cachebench.log in the run's folder): go-redis's pool messages, the HTTP servers' accept
// errors, Toxiproxy's and the standard logger's lines. On the terminal they would break
// the progress line and the summary; in the file they are kept for whoever needs them.
type libraryLog struct {
	mu sync.Mutex
	f  *os.File
	// tcPrev is testcontainers' logger before the run, restored by Close.
	tcPrev tclog.Logger
	// dir is the run's folder (made: by openLibraryLog); written counts the bytes logged;
	// refused makes Close remove an empty log, and the folder if it made it and nothing
	// else is in it.
	dir     string
	made    bool
	written int64
	refused bool
}

// openLibraryLog creates dir/cachebench.log and points the libraries' loggers at it.
// go-redis, zerolog (through Toxiproxy), testcontainers (its Docker banner and wait
// strategies' lines) and the log package offer only process-wide loggers, so they are set
// here, once, by the command line that owns the process. The in-process HTTP servers take
// the file as mocks.Config.ServerLog instead.
func openLibraryLog(dir string) (*libraryLog, error) {
	_, statErr := os.Stat(dir)
	made := os.IsNotExist(statErr)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "cachebench.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log file: %w", err)
	}
	l := &libraryLog{f: f, tcPrev: tclog.Default(), dir: dir, made: made}
	redis.SetLogger(redisLogger{stdlog.New(l, "go-redis: ", stdlog.LstdFlags|stdlog.Lmicroseconds)})
	tclog.SetDefault(stdlog.New(l, "testcontainers: ", stdlog.LstdFlags|stdlog.Lmicroseconds))
	zlog.Logger = zerolog.New(l).With().Timestamp().Logger()
	stdlog.SetOutput(l)
	return l, nil
}

// Write appends p to the file; it is safe for concurrent use.
func (l *libraryLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.f.Write(p)
	l.written += int64(n)
	return n, err
}

// refuse marks the run as refused for bad input before it started: Close then removes the
// log if nothing was written to it, and the run's folder if it is left empty, so that a
// refused run leaves no folder behind that looks like a result.
func (l *libraryLog) refuse() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused = true
}

// Close closes the file; the loggers that pointed at it discard from then on (the
// terminal is no place for them either), and testcontainers' gets its own back.
func (l *libraryLog) Close() error {
	stdlog.SetOutput(io.Discard)
	redis.SetLogger(redisLogger{stdlog.New(io.Discard, "", 0)})
	zlog.Logger = zerolog.Nop()
	tclog.SetDefault(l.tcPrev)
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.f.Close()
	if l.refused && l.written == 0 {
		_ = os.Remove(l.f.Name())
		if l.made {
			_ = os.Remove(l.dir) // fails, as it should, when the folder holds anything else
		}
	}
	return err
}

// redisLogger adapts a log.Logger to go-redis's logger, which passes a context.
type redisLogger struct{ l *stdlog.Logger }

// Printf writes one line, timestamped, so it can be set against the run's timeline.
func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.l.Printf(format, v...)
}
