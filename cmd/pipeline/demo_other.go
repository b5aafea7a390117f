//go:build !linux

package main

import "os/exec"

// dieWithParent has no portable equivalent of Linux's parent-death signal.
func dieWithParent(*exec.Cmd) {}
