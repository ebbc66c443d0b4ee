package testenv

import "syscall"

// setParentDeathSignal kills a child server when the test binary dies without
// running its cleanups (a panic, a test timeout), so no server outlives it.
func setParentDeathSignal(attr *syscall.SysProcAttr) {
	attr.Pdeathsig = syscall.SIGKILL
}
