// SPDX-License-Identifier: GPL-3.0-or-later

// Acknowledging the server's lines at once. A server that leaves Nagle's
// algorithm on (InspIRCd does) holds a short line to us while an earlier
// one is unacknowledged, and Linux delays the acknowledgement up to 40 ms
// when we have nothing to send back: a command that came right after the
// echo of our previous reply reached us 40 ms late (bench/README.md, row
// (f); TestQuickAckAfterEveryRead).

package irc

import "net"

// quickAckConn is the bot's TCP connection to the server; after each
// read it acknowledges what it read at once.
type quickAckConn struct {
	net.Conn
	ack func() // acknowledges what was read
}

// withQuickAck wraps a freshly dialled connection; anything but a TCP
// connection on a system with TCP_QUICKACK is returned as it is.
func withQuickAck(c net.Conn) net.Conn {
	ack := quickAck(c)
	if ack == nil {
		return c
	}
	return &quickAckConn{Conn: c, ack: ack}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.ack()
	}
	return n, err
}
