// SPDX-License-Identifier: GPL-3.0-or-later

// Package memnet is a chat network that lives in memory, and its transport:
// a fourth network for tests only. It is built from the contract alone
// (package transport, chat, and config for the registration of its own
// [memnet] table and [[tree]]/[[user]] keys, config.go), which proves that
// a new network needs nothing else of ksecbot; it passes the same
// conformance suite (internal/transporttest) as the console transport, and
// a test in cmd/ksecbot runs the whole bot on it after adding its one
// registration line (Server.Network) to the network list.
//
// The Server plays the network: users say things in channels under an
// account the network vouches for, the bot's messages are recorded per
// channel and echoed back to the bot as the network's users see them (as
// IRC's echo-message and a Matrix sync do; the transport drops its own
// lines), Drop cuts the bot's connection the way a server restart
// would, and Refuse keeps the bot out of a channel (a ban) until Admit:
// the transport reports both to its Inbox when that implements
// transport.Alerts, as the real transports do.
package memnet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

// Name is the network name of memnet channels and identities.
const Name = "memnet"

// BotAccount is the account the network knows the bot by: its own
// messages come back under it.
const BotAccount = "ksecbot"

// ErrNotConnected is returned by Send while the transport is not connected.
var ErrNotConnected = errors.New("memnet: not connected")

// Server is the in-memory network. Safe for concurrent use.
type Server struct {
	mu     sync.Mutex
	conn   *conn               // the bot's current connection, or nil
	posted map[string][]string // channel name -> lines the bot posted
	refuse map[string]string   // channel name -> why the bot may not be in it
	seq    int
}

// conn is one connection of the bot to the server.
type conn struct {
	in     chan chat.Incoming // what users say, for the bot
	joins  chan refusal       // Refuse and Admit, for the bot
	closed chan struct{}
	// refused are the channels refused when the bot connected; later
	// Refuse and Admit calls come on joins.
	refused map[string]string
	once    sync.Once
}

// refusal is a channel the bot is kept out of (problem) or let back into
// (problem "").
type refusal struct{ channel, problem string }

func (c *conn) close() { c.once.Do(func() { close(c.closed) }) }

// NewServer starts an empty network.
func NewServer() *Server {
	return &Server{posted: map[string][]string{}, refuse: map[string]string{}}
}

// dial connects the bot, replacing an earlier connection.
func (s *Server) dial() *conn {
	c := &conn{in: make(chan chat.Incoming, 64), joins: make(chan refusal, 64), closed: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.close()
	}
	s.conn = c
	c.refused = maps.Clone(s.refuse)
	return c
}

// Say has the user with the network account say text in channel; nick is
// the display name. It reports false when the bot is not connected to hear
// it (the message is lost, as on IRC).
func (s *Server) Say(channel, account, nick, text string) bool {
	s.mu.Lock()
	c := s.conn
	s.seq++
	id := fmt.Sprintf("mem-in-%d", s.seq)
	s.mu.Unlock()
	if c == nil {
		return false
	}
	msg := chat.Incoming{
		Channel: chat.Channel{Key: chat.ChannelKey(Name, channel), Network: Name, Name: channel},
		Target:  channel,
		Sender:  chat.Identity{Network: Name, Account: account, Nick: nick},
		Text:    text,
		ID:      id,
	}
	select {
	case c.in <- msg:
		return true
	case <-c.closed:
		return false
	}
}

// Drop cuts the bot's connection; the transport reconnects.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
}

// Refuse keeps the bot out of channel, for the reason problem (said to
// the bot's Inbox), until Admit: its posts there fail. Calling it again
// is a refused rejoin. It blocks until the bot, if connected, has read it.
func (s *Server) Refuse(channel, problem string) {
	s.setRefusal(refusal{channel, problem})
}

// Admit lets the bot back into channel.
func (s *Server) Admit(channel string) {
	s.setRefusal(refusal{channel, ""})
}

func (s *Server) setRefusal(r refusal) {
	s.mu.Lock()
	if r.problem == "" {
		delete(s.refuse, r.channel)
	} else {
		s.refuse[r.channel] = r.problem
	}
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case c.joins <- r:
	case <-c.closed:
	}
}

// Posted returns the lines the bot posted in channel, oldest first.
func (s *Server) Posted(channel string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.posted[channel]...)
}

// post records lines from the bot on connection c; it fails when c is no
// longer the server's connection.
func (s *Server) post(c *conn, channel string, lines []string) (string, error) {
	s.mu.Lock()
	if s.conn != c {
		s.mu.Unlock()
		return "", ErrNotConnected
	}
	if why := s.refuse[channel]; why != "" {
		s.mu.Unlock()
		return "", fmt.Errorf("memnet: not in %s: %s", channel, why)
	}
	s.posted[channel] = append(s.posted[channel], lines...)
	s.seq++
	id := fmt.Sprintf("mem-out-%d", s.seq)
	s.mu.Unlock()
	// Echo the lines to the bot, in order, before anything said later.
	for _, l := range lines {
		echo := chat.Incoming{Target: channel, Text: l, ID: id,
			Sender: chat.Identity{Network: Name, Account: BotAccount, Nick: BotAccount}}
		select {
		case c.in <- echo:
		case <-c.closed:
			return id, nil
		}
	}
	return id, nil
}

// Transport is the memnet transport (transport.Transport).
type Transport struct {
	srv     *Server
	backoff time.Duration

	mu       sync.Mutex
	conn     *conn
	channels []chat.Channel // replaced by ReloadChannels
}

var _ transport.Transport = (*Transport)(nil)

// New returns a transport for srv in the named channels; private ones may
// see restricted bugs.
func New(srv *Server, channels []chat.Channel) *Transport {
	return &Transport{srv: srv, channels: keyed(channels), backoff: 10 * time.Millisecond}
}

// keyed returns channels as memnet's: its network name and channel keys.
func keyed(channels []chat.Channel) []chat.Channel {
	chs := make([]chat.Channel, len(channels))
	for i, ch := range channels {
		ch.Network = Name
		ch.Key = chat.ChannelKey(Name, ch.Name)
		chs[i] = ch
	}
	return chs
}

var _ transport.ChannelReloader = (*Transport)(nil)

// ReloadChannels implements transport.ChannelReloader: the channels of
// the new [memnet] section replace the old ones at once (being in a
// channel is free on memnet); nothing else in the section needs a
// restart. A nil section is ignored.
func (t *Transport) ReloadChannels(sec config.Section) (needRestart bool, err error) {
	cfg, _ := sec.(*Config)
	if cfg == nil {
		return false, nil
	}
	chs := keyed(cfg.channels())
	t.mu.Lock()
	t.channels = chs
	t.mu.Unlock()
	return false, nil
}

// Network registers memnet with a program that wires ksecbot: the one
// line cmd/ksecbot would add to its network list is srv.Network(). It
// brings its own configuration (config.go: the [memnet] table, a tree's
// memnet handles, a user's memnet_account) and runs on srv, in the
// channels of its section, when the file has a [memnet] table.
func (s *Server) Network() transport.Network {
	return transport.Network{
		Config: configNetwork,
		New: func(sec config.Section, _ transport.Env) (transport.Transport, error) {
			cfg, ok := sec.(*Config)
			if !ok {
				return nil, fmt.Errorf("memnet: section of type %T, want *memnet.Config", sec)
			}
			return New(s, cfg.channels()), nil
		},
	}
}

// Network returns Name.
func (t *Transport) Network() string { return Name }

// Channels returns the configured channels.
func (t *Transport) Channels() []chat.Channel {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]chat.Channel(nil), t.channels...)
}

// Connected reports whether the transport is connected now.
func (t *Transport) Connected() bool {
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return false
	}
	select {
	case <-c.closed:
		return false
	default:
		return true
	}
}

// Run connects, hands what users say in the configured channels to in,
// and reconnects after a drop. It returns nil when ctx is done.
func (t *Transport) Run(ctx context.Context, in transport.Inbox) error {
	for {
		c := t.srv.dial()
		t.mu.Lock()
		t.conn = c
		t.mu.Unlock()
		t.serve(ctx, c, in)
		t.mu.Lock()
		t.conn = nil
		t.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(t.backoff):
		}
	}
}

// serve reads one connection until it closes or ctx is done. It first
// "joins" every channel, reporting the refused ones (and the others, as
// joined) when in implements transport.Alerts.
func (t *Transport) serve(ctx context.Context, c *conn, in transport.Inbox) {
	alerts, _ := in.(transport.Alerts)
	report := func(name, problem string) {
		ch, ok := t.channel(name)
		switch {
		case !ok || alerts == nil:
		case problem != "":
			alerts.ChannelTrouble(ctx, ch, problem)
		default:
			alerts.ChannelRecovered(ctx, ch)
		}
	}
	for _, ch := range t.Channels() {
		report(ch.Name, c.refused[ch.Name])
	}
	for {
		select {
		case <-ctx.Done():
			c.close()
			return
		case <-c.closed:
			return
		case r := <-c.joins:
			report(r.channel, r.problem)
		case msg := <-c.in:
			ch, ok := t.channel(msg.Target)
			if !ok || msg.Sender.Account == BotAccount {
				continue
			}
			msg.Channel = ch
			msg.Text = chat.Sanitize(msg.Text)
			in.Receive(ctx, msg)
		}
	}
}

func (t *Transport) channel(name string) (chat.Channel, bool) {
	for _, ch := range t.Channels() {
		if ch.Name == name {
			return ch, true
		}
	}
	return chat.Channel{}, false
}

// Send posts the message's lines (and detail lines) in its target channel.
// It fails, having sent nothing, while the transport is not connected.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t.mu.Lock()
	c := t.conn
	t.mu.Unlock()
	if c == nil {
		return "", ErrNotConnected
	}
	var lines []string
	for _, l := range append(append([]chat.Line(nil), out.Lines...), out.Detail...) {
		if s := chat.Sanitize(render(l)); s != "" {
			lines = append(lines, s)
		}
	}
	return t.srv.post(c, out.Target, lines)
}

// render is a line as memnet shows it: mentions as "@tree", followed by
// the tree's memnet handles ("@tree(ann,bo)") when it has some.
func render(l chat.Line) string {
	var b strings.Builder
	for _, sp := range l {
		switch sp.Kind {
		case chat.SpanMention:
			if sp.Highlight != nil {
				b.WriteString("@" + sp.Highlight.Tree)
				if hs := sp.Highlight.Handles[Name]; len(hs) > 0 {
					b.WriteString("(" + strings.Join(hs, ",") + ")")
				}
			}
		case chat.SpanLink:
			if sp.URL != "" {
				b.WriteString(sp.URL)
			} else {
				b.WriteString(sp.Text)
			}
		default:
			b.WriteString(sp.Text)
		}
	}
	return b.String()
}
