// SPDX-License-Identifier: GPL-3.0-or-later

package irctest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/ergochat/irc-go/ircmsg"
)

// Verdict is what a Proxy does with one line from the client.
type Verdict int

// Verdicts of a Proxy's line hook.
const (
	Pass           Verdict = iota // forward the line to the server
	Swallow                       // drop the line silently, keep the connection
	SwallowAndDrop                // drop the line, then close both sides
)

// Proxy is a TCP proxy between a client under test (the bot) and an IRC
// server. It can partition the link (every byte both ways dropped, the
// connection left open, as when a router dies), and a hook sees each line
// the client sends and may swallow it or cut the connection right after;
// Inject plays the server's part with lines of the test's own. Safe for
// concurrent use.
type Proxy struct {
	// Addr is where the client connects.
	Addr     string
	upstream string
	ln       net.Listener

	mu          sync.Mutex
	partitioned bool
	conns       map[*proxyConn]bool
	hook        func(ircmsg.Message) Verdict
	lines       int // client lines forwarded
}

type proxyConn struct {
	client, server net.Conn
	cut            bool       // lived through a partition: closed when it heals
	wmu            sync.Mutex // whole lines to the client: the server's and Inject's
	once           sync.Once
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		_ = c.client.Close()
		if c.server != nil {
			_ = c.server.Close()
		}
	})
}

// NewProxy listens on a free port of 127.0.0.1 and forwards every
// connection to upstream; the test's cleanup closes it.
func NewProxy(t testing.TB, upstream string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: ln.Addr().String(), upstream: upstream, ln: ln, conns: map[*proxyConn]bool{}}
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Close stops listening and closes every connection.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.close()
	}
}

// SetHook sets the function that sees each line the client sends (nil:
// pass everything). It runs on the proxy's goroutine: keep it short.
func (p *Proxy) SetHook(h func(ircmsg.Message) Verdict) {
	p.mu.Lock()
	p.hook = h
	p.mu.Unlock()
}

// Partition starts dropping every byte both ways, on the open
// connections and on new ones, without closing anything.
func (p *Proxy) Partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = true
	for c := range p.conns {
		c.cut = true
	}
}

// Heal ends the partition. The connections that lived through it are
// closed on both sides, as the first packets after it would reset them;
// new connections pass again.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partitioned = false
	for c := range p.conns {
		if c.cut {
			c.close()
			delete(p.conns, c)
		}
	}
}

// DropAll closes every open connection on both sides.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.close()
		delete(p.conns, c)
	}
}

// Inject sends line (without CR LF) to every open client as if the
// server had sent it, between two of the server's lines; during a
// partition it is dropped like them. A hook may call it, say to answer a
// line it swallows.
func (p *Proxy) Inject(line string) {
	p.mu.Lock()
	var to []*proxyConn
	for c := range p.conns {
		if !c.cut {
			to = append(to, c)
		}
	}
	p.mu.Unlock()
	for _, c := range to {
		c.wmu.Lock()
		_, _ = c.client.Write([]byte(line + "\r\n"))
		c.wmu.Unlock()
	}
}

// Connections returns how many connections are open.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func (p *Proxy) accept() {
	for {
		cl, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.serve(cl)
	}
}

func (p *Proxy) serve(cl net.Conn) {
	c := &proxyConn{client: cl}
	p.mu.Lock()
	c.cut = p.partitioned
	p.conns[c] = true
	p.mu.Unlock()
	if !c.cut {
		srv, err := net.Dial("tcp", p.upstream)
		if err != nil {
			p.forget(c)
			c.close()
			return
		}
		c.server = srv
	}
	if c.server != nil {
		go p.down(c)
	}
	p.up(c)
}

func (p *Proxy) forget(c *proxyConn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// up copies the client's lines to the server through the hook.
func (p *Proxy) up(c *proxyConn) {
	r := bufio.NewReaderSize(c.client, 16<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			p.mu.Lock()
			cut, hook := c.cut, p.hook
			p.mu.Unlock()
			v := Pass
			if cut || c.server == nil {
				v = Swallow
			} else if hook != nil {
				if m, perr := ircmsg.ParseLine(string(line)); perr == nil {
					v = hook(m)
				}
			}
			switch v {
			case Pass:
				if _, werr := c.server.Write(line); werr != nil {
					err = werr
				}
				p.mu.Lock()
				p.lines++
				p.mu.Unlock()
			case SwallowAndDrop:
				p.forget(c)
				c.close()
				return
			}
		}
		if err != nil {
			p.mu.Lock()
			cut := c.cut
			p.mu.Unlock()
			if cut && !errors.Is(err, net.ErrClosed) {
				// the client gave up during the partition: the server
				// learns of it only when the partition heals (Heal)
				return
			}
			p.forget(c)
			c.close()
			return
		}
	}
}

// down copies the server's lines to the client, dropping them during a
// partition.
func (p *Proxy) down(c *proxyConn) {
	r := bufio.NewReaderSize(c.server, 16<<10)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			p.mu.Lock()
			cut := c.cut
			p.mu.Unlock()
			if !cut {
				c.wmu.Lock()
				_, werr := c.client.Write(line)
				c.wmu.Unlock()
				if werr != nil && !errors.Is(werr, io.EOF) {
					err = werr
				}
			}
		}
		if err != nil {
			p.mu.Lock()
			cut := c.cut
			p.mu.Unlock()
			if cut && !errors.Is(err, net.ErrClosed) {
				return // closed at Heal
			}
			p.forget(c)
			c.close()
			return
		}
	}
}
