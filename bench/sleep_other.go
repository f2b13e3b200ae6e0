//go:build !linux

package bench

import "time"

// preciseSleep sleeps d; elsewhere than Linux it is time.Sleep.
func preciseSleep(d time.Duration) { time.Sleep(d) }

// preciseThread does nothing elsewhere than Linux.
func preciseThread() {}
