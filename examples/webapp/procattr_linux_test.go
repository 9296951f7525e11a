package main

import "syscall"

// childAttr makes a child process die with the test binary, even when
// the binary is killed before its cleanups run (a test timeout).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
