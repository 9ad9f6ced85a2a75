//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package client

import "syscall"

const canPeek = false

func peerClosed(syscall.RawConn) bool { return false }
