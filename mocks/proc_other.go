//go:build !linux

package mocks

import "os/exec"

// setProcAttrs has nothing to add outside Linux; Env.Close stops the children.
func setProcAttrs(cmd *exec.Cmd) {}
