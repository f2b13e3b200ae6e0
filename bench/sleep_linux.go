//go:build linux

package bench

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// preciseThread sets the calling thread's timer slack to 1 ns: by default Linux lets a
// sleep overrun by up to 50 µs to batch wake-ups, which at 50,000 requests a second is
// more than the gap between two of them. Call it from the locked dispatcher thread.
func preciseThread() { _ = unix.Prctl(unix.PR_SET_TIMERSLACK, 1, 0, 0, 0) }

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
