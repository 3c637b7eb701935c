//go:build !unix

package main

import "os/exec"

// shellCommand returns a command that runs s with cmd /C.
func shellCommand(s string) *exec.Cmd { return exec.Command("cmd", "/C", s) }

// signalGroup kills the command: this platform has neither SIGTERM nor
// process groups to signal.
func signalGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
