package main

import (
	"context"
	stdlog "log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	zlog "github.com/rs/zerolog/log"
)

// TestLibraryLogGoesToTheFile checks that the loggers libraries write through (the
// standard logger, zerolog's global one, go-redis's) end up in cachebench.log.
func TestLibraryLogGoesToTheFile(t *testing.T) {
	dir := t.TempDir()
	l, err := openLibraryLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	stdlog.Print("http: Accept error: too many open files")
	zlog.Warn().Msg("toxic stopped")
	redisLogger{l}.Printf(context.Background(), "pool: %d connections", 3)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "cachebench.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Accept error", "toxic stopped", "go-redis: pool: 3 connections"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("cachebench.log lacks %q:\n%s", want, data)
		}
	}
}
