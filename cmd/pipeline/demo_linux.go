package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes a demo job end when `pipeline demo` itself is killed
// (SIGKILL leaves no chance to stop the children), instead of lingering on
// the demo's ports.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
