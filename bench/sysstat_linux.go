//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// RaiseOpenFileLimit raises the process's soft limit on open files (RLIMIT_NOFILE) to its
// hard limit, and returns the soft limit in force afterwards. Go's runtime already does
// this at start on Linux (since Go 1.19); calling it again costs nothing and makes the
// figure explicit. A run with the embedded services holds two descriptors per
// in-process connection and hop, so a low soft limit (1024 is common) would be the
// first thing to break.
func RaiseOpenFileLimit() (uint64, error) {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 0, err
	}
	if l.Cur < l.Max {
		want := l
		want.Cur = l.Max
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &want); err == nil {
			l = want
		}
	}
	return l.Cur, nil
}

// openFileLimit is the soft RLIMIT_NOFILE (0 when unknown).
func openFileLimit() int64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil || l.Cur == unix.RLIM_INFINITY {
		return 0
	}
	return int64(l.Cur)
}

// openFiles counts the process's open file descriptors (the entries of /proc/self/fd,
// less the one reading it); -1 when it cannot tell.
func openFiles() int64 {
	f, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer f.Close()
	var n int64
	for {
		names, err := f.Readdirnames(1024)
		n += int64(len(names))
		if err != nil || len(names) == 0 {
			break
		}
	}
	return n - 1
}

// processCPU is the CPU time (user and system) the process has used so far.
func processCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// machineCPU returns the machine's busy and total CPU time so far, in clock ticks
// summed over its cores (/proc/stat's first line); ok is false when unreadable.
func machineCPU() (busy, total uint64, ok bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() {
		return 0, 0, false
	}
	fields := bytes.Fields(sc.Bytes())
	if len(fields) < 5 || string(fields[0]) != "cpu" {
		return 0, 0, false
	}
	for i, f := range fields[1:] {
		v, err := strconv.ParseUint(string(f), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		if i >= 8 { // guest time is already counted in user time
			break
		}
		total += v
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, total, true
}

// isFDExhaustion reports whether err is the system refusing a file descriptor.
func isFDExhaustion(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}
