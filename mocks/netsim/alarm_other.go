//go:build !linux

package netsim

// newAlarm returns a Go timer. Outside Linux that is the best portable choice: the
// runtime's pollers on macOS (kqueue) and Windows sleep with sub-millisecond resolution.
func newAlarm() alarm { return goAlarm{} }
