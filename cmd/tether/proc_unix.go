//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// shellCommand returns a command that runs s with /bin/sh -c in a process
// group of its own, so that signalGroup reaches its children too.
func shellCommand(s string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", "-c", s)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// signalGroup sends SIGTERM, or SIGKILL with kill set, to the process
// group of a command started by shellCommand.
func signalGroup(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
