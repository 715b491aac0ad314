// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package irc

import (
	"io"
	"net"
	"syscall"
	"testing"
)

// quickAckState reads TCP_QUICKACK: 1 while the kernel acknowledges at
// once, 0 while it delays acknowledgements (an interactive connection).
func quickAckState(t *testing.T, c net.Conn) int {
	t.Helper()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK)
	}); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// exchange plays a server sending a line and the bot answering it, n
// times: the kernel then treats the bot's end as interactive and delays
// its acknowledgements.
func exchange(t *testing.T, bot, server net.Conn, n int) {
	t.Helper()
	buf := make([]byte, 64)
	for range n {
		if _, err := server.Write([]byte("PRIVMSG #c :!pending\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := bot.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := bot.Write([]byte("PRIVMSG #c :answer\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(server, buf[:len("PRIVMSG #c :answer\r\n")]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQuickAckAfterEveryRead(t *testing.T) {
	// Without the wrapper the kernel delays the bot's acknowledgements.
	plain, server := tcpPair(t)
	exchange(t, plain, server, 5)
	if _, err := server.Write([]byte("PRIVMSG #c :!pending\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if quickAckState(t, plain) != 0 {
		t.Skip("this kernel does not delay acknowledgements on an interactive connection: nothing to compare against")
	}

	// With it, every read leaves the connection acknowledging at once.
	raw, server := tcpPair(t)
	bot := withQuickAck(raw)
	if _, ok := bot.(*quickAckConn); !ok {
		t.Fatalf("withQuickAck(%T) = %T, want a *quickAckConn", raw, bot)
	}
	exchange(t, bot, server, 5)
	if _, err := server.Write([]byte("PRIVMSG #c :!pending\r\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bot.Read(make([]byte, 64)); err != nil {
		t.Fatal(err)
	}
	if got := quickAckState(t, raw); got != 1 {
		t.Errorf("after a read TCP_QUICKACK = %d, want 1 (acknowledging at once)", got)
	}
}

func TestQuickAckLeavesOtherConnections(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := withQuickAck(a); got != a {
		t.Errorf("withQuickAck(net.Pipe()) = %T, want the connection itself", got)
	}
}
