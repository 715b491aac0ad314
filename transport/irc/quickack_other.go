// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !linux

package irc

import "net"

// quickAck: TCP_QUICKACK is Linux's; elsewhere the kernel's delayed
// acknowledgements stay.
func quickAck(net.Conn) func() { return nil }
