package cachecore

import (
	"os"
	"runtime"
	"testing"
)

// TestMain stops the environments shared by the package's tests and benchmarks.
func TestMain(m *testing.M) {
	code := m.Run()
	benchEnv.Close()
	closeTierEnvs()
	os.Exit(code)
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
