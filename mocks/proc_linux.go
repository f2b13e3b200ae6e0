package mocks

import (
	"os/exec"
	"syscall"
)

// setProcAttrs makes the kernel kill a child if cachebench dies without cleaning up, so
// no service outlives the run that started it.
func setProcAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
