//go:build linux

package bench

import (
	"syscall"
	"time"
)

// preciseSleep sleeps d in the calling OS thread with nanosleep(2). Go's timers on Linux
// wait in epoll with millisecond resolution, so time.Sleep(200µs) takes about a
// millisecond, and every open-loop request would start that late; the kernel's
// high-resolution timer wakes nanosleep within tens of microseconds. The dispatcher locks
// its goroutine to its thread, so only that thread blocks.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		err := syscall.Nanosleep(&ts, &rem)
		if err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
