//go:build !linux

package bench

import "time"

// RaiseOpenFileLimit does nothing on this system and returns 0: the limit is unknown.
func RaiseOpenFileLimit() (uint64, error) { return 0, nil }

func openFileLimit() int64 { return 0 }

func openFiles() int64 { return -1 }

func processCPU() time.Duration { return 0 }

func machineCPU() (busy, total uint64, ok bool) { return 0, 0, false }

func isFDExhaustion(error) bool { return false }
