//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package client

import "syscall"

const canPeek = true

// peerClosed peeks at the socket without blocking or consuming: end of
// stream, a reset or unasked data all mean the connection must not carry
// another request.
func peerClosed(raw syscall.RawConn) bool {
	closed := false
	raw.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		_ = n // 0: end of stream; 1: data nobody asked for
		closed = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
	})
	return closed
}
