//go:build linux

package netsim

import (
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// timerfdAlarm is an alarm on a Linux timerfd read through the Go runtime's poller. Go's
// own timers on Linux wait in epoll with millisecond resolution, so a 250 µs sleep takes
// about 1.1 ms; a timerfd becomes readable with the kernel's high-resolution timer and
// wakes the poller at once.
type timerfdAlarm struct {
	fd    int
	f     *os.File
	fired chan struct{}
}

// newAlarm returns a timerfd alarm, or a Go timer if the kernel refuses a timerfd.
func newAlarm() alarm {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return goAlarm{}
	}
	a := &timerfdAlarm{fd: fd, f: os.NewFile(uintptr(fd), "netsim-timerfd"), fired: make(chan struct{}, 1)}
	go a.loop()
	return a
}

// loop turns each expiry into a signal on fired; it ends when the alarm is closed.
func (a *timerfdAlarm) loop() {
	var buf [8]byte
	for {
		if _, err := a.f.Read(buf[:]); err != nil {
			return
		}
		select {
		case a.fired <- struct{}{}:
		default:
		}
	}
}

func (a *timerfdAlarm) wait(d time.Duration, interrupt <-chan struct{}) bool {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(a.fd, 0, &spec, nil); err != nil {
		return goAlarm{}.wait(d, interrupt)
	}
	select {
	case <-a.fired:
		return true
	case <-interrupt:
		var off unix.ItimerSpec
		_ = unix.TimerfdSettime(a.fd, 0, &off, nil)
		return false
	}
}

func (a *timerfdAlarm) close() { _ = a.f.Close() }
