// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package irc

import (
	"net"
	"syscall"
)

// quickAck returns a function that sets TCP_QUICKACK on c's socket: the
// kernel sends the acknowledgement it was delaying at once. The kernel
// clears the flag again when we send (the connection looks interactive),
// so it is set after every read. Nil when c is no TCP connection.
func quickAck(c net.Conn) func() {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	set := func(fd uintptr) {
		// best effort: on failure the kernel's delayed acknowledgements stay
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	}
	return func() { _ = raw.Control(set) }
}
