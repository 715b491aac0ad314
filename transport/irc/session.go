// SPDX-License-Identifier: GPL-3.0-or-later

// One connection attempt: connecting and registering, the callbacks on
// the wire, and clearing the state on a disconnect.

package irc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/transport"
)

// session is one connection attempt with its ircevent.Connection.
type session struct {
	t          *Transport
	conn       *ircevent.Connection
	sockMu     sync.Mutex
	sock       net.Conn
	gen        uint64
	disc       chan struct{}
	discOnce   sync.Once
	registered bool
	// server and useTLS are where this connection goes: the configured
	// server, or the TLS port of an STS policy (sts.go)
	server string
	useTLS bool
	// leftForSTS: the plaintext link was closed to move to TLS (sts.go)
	leftForSTS bool
	// registeredAt is when the server welcomed us: a connection that
	// held (heldFor) resets the reconnect backoff.
	registeredAt time.Time

	fatalMu  sync.Mutex
	fatal    error // a permanent failure seen on the wire
	loggedIn bool
	capLS    map[string]string // what the server's CAP LS offers (nil: no CAP LS seen)
	// nickserv.go: the WHOIS of NickServ says it is a network service;
	// the fallback IDENTIFY waits for that answer
	nsService, nsIdentify bool
	quitting              bool // we sent QUIT: the server's ERROR is the expected goodbye
}

func newSession(t *Transport) *session {
	return &session{t: t, disc: make(chan struct{})}
}

func (s *session) setFatal(err error) {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	if s.fatal == nil {
		s.fatal = err
	}
}

func (s *session) permanentError() error {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	return s.fatal
}

func (s *session) closeSock() {
	s.sockMu.Lock()
	defer s.sockMu.Unlock()
	if s.sock != nil {
		_ = s.sock.Close()
	}
}

// run connects, then waits for the disconnect or ctx.
func (s *session) run(ctx context.Context) error {
	t := s.t
	// Only what we use: each cap is one CAP REQ line, and strict servers
	// (InspIRCd's penalty counts registration too) punish long CAP bursts.
	caps := []string{"account-tag", "extended-join", "account-notify"}
	switch {
	case t.opt.NoAccountCaps:
		caps = nil
	case t.opt.NoAccountTag:
		caps = caps[1:]
	}
	// the reply tags of people's clients (+draft/reply: a command
	// answering an announcement names its bug)
	caps = append(caps, "message-tags")
	// delivery confirmation: the server echoes each line, labeled with
	// the label we sent (labeled-response needs batch for multi-line
	// answers)
	if !t.opt.NoEchoCaps {
		caps = append(caps, "echo-message")
		if !t.opt.NoLabels {
			caps = append(caps, "labeled-response", "batch")
		}
	}
	s.server, s.useTLS = t.dialTarget()
	c := &ircevent.Connection{
		Server:      s.server,
		Nick:        t.cfg.Nick,
		User:        t.cfg.User,
		RealName:    t.cfg.RealName,
		UseTLS:      s.useTLS,
		RequestCaps: caps,
		Version:     t.opt.Version,
		QuitMessage: "ksecbot shutting down",
		Timeout:     30 * time.Second,
		KeepAlive:   90 * time.Second,
		Log:         slog.NewLogLogger(t.log.Handler(), slog.LevelDebug),
	}
	if c.RealName == "" {
		c.RealName = "ksecbot, Gentoo kernel security bot"
	}
	if s.useTLS {
		tc, err := t.tlsConfig()
		if err != nil {
			s.setFatal(transport.Misconfigured(err))
			return err
		}
		c.TLSConfig = tc
	}
	switch strings.ToUpper(t.cfg.SASLMech) {
	case "EXTERNAL":
		c.SASLMech = "EXTERNAL"
		c.SASLLogin = t.cfg.SASLUser
		c.UseSASL = true
	default:
		if t.cfg.SASLUser != "" {
			c.SASLLogin = t.cfg.SASLUser
			c.SASLPassword = t.saslPassword()
			c.UseSASL = c.SASLPassword != ""
			// with the NickServ fallback, a server without SASL is not
			// an error: onConnect identifies with NickServ instead
			c.SASLOptional = t.cfg.NickServ
		}
	}
	var d net.Dialer
	c.DialContext = func(dctx context.Context, network, addr string) (net.Conn, error) {
		sock, err := d.DialContext(dctx, network, addr)
		if err == nil {
			sock = withQuickAck(sock)
			s.sockMu.Lock()
			s.sock = sock
			s.sockMu.Unlock()
		}
		return sock, err
	}
	s.conn = c
	s.addCallbacks()

	// abort a slow Connect when ctx ends
	stopWatch := context.AfterFunc(ctx, s.closeSock)
	err := c.Connect()
	stopWatch()
	if err != nil {
		// SASL failures count as permanent only with a 904 from services
		// (set by its callback), or on a server without accounts at all
		// (no sasl, account-tag or account-notify in its CAP LS). A
		// server with accounts whose sasl is missing now has its
		// services down (InspIRCd withdraws sasl until they link): that
		// is temporary.
		s.closeSock()
		var certErr *tls.CertificateVerificationError
		switch {
		case s.permanentError() != nil:
		case errors.Is(err, ircevent.SASLFailed) && s.lacksSASL() && !s.offersAccounts():
			s.setFatal(s.noSASL())
		case errors.Is(err, ircevent.SASLFailed) && s.lacksSASL():
			if n := t.saslMissing.Add(1); n == saslMissingWarn {
				t.log.Error("the server has offered no SASL on several connections in a row; if it has none, remove sasl_user from [irc] or set nickserv = true; retrying meanwhile",
					"server", s.server, "attempts", n)
			}
			return fmt.Errorf("connect %s: the server offers no SASL now (are its services linked?)", s.server)
		case errors.As(err, &certErr):
			s.setFatal(transport.Misconfigured(fmt.Errorf("tls certificate of %s not trusted (set tls_ca_file?): %w", s.server, err)))
		}
		return fmt.Errorf("connect %s: %w", t.cfg.Server, err)
	}
	if perm := s.permanentError(); perm != nil {
		// SASL is optional with the NickServ fallback, but a password
		// services rejected (904) stays a permanent error
		c.Quit()
		s.closeSock()
		s.onDisconnect()
		return perm
	}
	s.registered = true
	s.registeredAt = time.Now()
	t.saslMissing.Store(0)
	select {
	case <-ctx.Done():
		s.fatalMu.Lock()
		s.quitting = true
		s.fatalMu.Unlock()
		c.Quit()
		timer := time.NewTimer(2 * time.Second)
		select {
		case <-s.disc:
		case <-timer.C:
		}
		timer.Stop()
		s.closeSock()
		s.onDisconnect()
		return nil
	case <-s.disc:
	}
	s.closeSock()
	return fmt.Errorf("connection to %s lost", t.cfg.Server)
}

// onDisconnect clears the connection state and fails queued sends.
func (s *session) onDisconnect() {
	s.discOnce.Do(func() {
		t := s.t
		t.mu.Lock()
		if t.gen == s.gen {
			t.conn = nil
		}
		t.accounts = map[string]string{}
		t.members = map[string]map[string]bool{}
		t.named = map[string]bool{}
		t.joined = map[string]bool{}
		t.joining = map[string]bool{}
		t.joinChangedLocked()
		pending := t.pending
		t.pending = map[string][]func(string){}
		t.mu.Unlock()
		for _, fs := range pending {
			for _, f := range fs {
				f("")
			}
		}
		t.failInflight()
		t.failQueued()
		close(s.disc)
	})
}

func (s *session) addCallbacks() {
	c := s.conn
	c.AddCallback("CAP", s.onCap)
	c.AddConnectCallback(func(ircmsg.Message) { s.onConnect() })
	c.AddDisconnectCallback(func(ircmsg.Message) { s.onDisconnect() })
	c.AddCallback("PRIVMSG", s.onPrivmsg)
	c.AddCallback("NOTICE", s.onNotice)
	c.AddCallback("PONG", func(m ircmsg.Message) { s.t.onPong(lastParam(m)) })
	// unlabeled refusals (no labeled-response): the oldest line in
	// flight to that target failed
	for _, num := range []string{"401", "404", "442", "477", "489", "492", "FAIL"} {
		c.AddCallback(num, func(m ircmsg.Message) {
			if !s.t.onRefused(m) && num == "477" {
				s.onJoinRefused(m)
			}
		})
	}
	c.AddCallback("JOIN", s.onJoin)
	c.AddCallback("PART", func(m ircmsg.Message) {
		if len(m.Params) > 0 {
			s.onLeave(m.Nick(), m.Params[0])
		}
	})
	c.AddCallback("KICK", s.onKick)
	c.AddCallback("QUIT", func(m ircmsg.Message) { s.forget(m.Nick()) })
	c.AddCallback("NICK", s.onNick)
	c.AddCallback("ACCOUNT", func(m ircmsg.Message) {
		if len(m.Params) > 0 {
			s.setAccount(m.Nick(), accountParam(m.Params[0]))
		}
	})
	c.AddCallback("313", s.onWhoisService)
	c.AddCallback("318", s.onEndOfWhois)
	c.AddCallback("353", s.onNames)
	c.AddCallback("366", s.onEndOfNames)
	c.AddCallback("354", s.onWhox)
	c.AddCallback("315", s.onEndOfWho)
	c.AddCallback("900", func(ircmsg.Message) { s.fatalMu.Lock(); s.loggedIn = true; s.fatalMu.Unlock() })
	c.AddCallback("904", func(m ircmsg.Message) {
		s.setFatal(transport.Misconfigured(fmt.Errorf("sasl authentication as %q failed (%s): check sasl_user and the password", s.t.cfg.SASLUser, lastParam(m))))
	})
	c.AddCallback("902", func(m ircmsg.Message) {
		s.setFatal(transport.Misconfigured(fmt.Errorf("nick locked by services (%s): set nick to one the sasl_user account owns", lastParam(m))))
	})
	c.AddCallback("464", func(m ircmsg.Message) {
		s.setFatal(transport.Misconfigured(fmt.Errorf("server password rejected: %s", lastParam(m))))
	})
	c.AddCallback("465", func(m ircmsg.Message) {
		s.setFatal(transport.Permanent(fmt.Errorf("banned from the server: %s", lastParam(m))))
	})
	c.AddCallback("ERROR", func(m ircmsg.Message) {
		msg := lastParam(m)
		low := strings.ToLower(msg)
		for _, w := range []string{"k-lined", "g-lined", "z-lined", "banned", "k-line", "g-line", "z-line"} {
			if strings.Contains(low, w) {
				s.setFatal(transport.Permanent(fmt.Errorf("banned from the server: %s", msg)))
				return
			}
		}
		s.fatalMu.Lock()
		quitting := s.quitting
		s.fatalMu.Unlock()
		if quitting {
			s.t.log.Info("link closed after our QUIT", "reason", msg)
			return
		}
		s.t.log.Warn("server closed the link", "reason", msg)
	})
	for _, num := range []string{"471", "473", "474", "475", "403", "405"} {
		c.AddCallback(num, func(m ircmsg.Message) {
			if num == "403" && s.t.onRefused(m) {
				return // a line to a channel that does not exist
			}
			s.onJoinRefused(m)
		})
	}
}

func lastParam(m ircmsg.Message) string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

func (s *session) onConnect() {
	t, c := s.t, s.conn
	is := c.ISupport()
	capsAcked := c.AcknowledgedCaps()
	t.mu.Lock()
	t.gen++
	s.gen = t.gen
	t.conn = c
	if cm := strings.ToLower(is["CASEMAPPING"]); cm != "" {
		t.casemap = cm
	}
	if ct := is["CHANTYPES"]; ct != "" {
		t.chantypes = ct
	}
	t.prefixes = prefixesOf(is["PREFIX"])
	_, t.accountTag = capsAcked["account-tag"]
	_, t.accountNotify = capsAcked["account-notify"]
	_, t.whox = is["WHOX"]
	s.fatalMu.Lock()
	_, saslOffered := s.capLS["sasl"]
	s.fatalMu.Unlock()
	// a server with services accounts: they show in tags or in the
	// caps it offers (ngIRCd has none of these)
	t.hasAccounts = t.accountTag || t.accountNotify || saslOffered
	t.nickServ = false // until the WHOIS of NickServ says
	_, t.echo = capsAcked["echo-message"]
	_, lr := capsAcked["labeled-response"]
	_, batch := capsAcked["batch"]
	t.labels = t.echo && lr && batch
	t.kicks = map[string]int{}
	t.joined = map[string]bool{}
	gen := t.gen
	chans := append([]Channel(nil), t.chanCfg...)
	t.mu.Unlock()
	if t.everConnected.Swap(true) {
		t.reconnects.Add(1)
	}
	// The bucket is not emptied here: like irssi, the bot may send its
	// burst (JOINs, the first announcement) right after registering; the
	// rest of a backlog then trickles out at one line per interval, which
	// stays under Libera's and the strict test server's limits.
	confirm := "ping fences"
	if t.labels {
		confirm = "labeled echoes"
	} else if t.echo {
		confirm = "echoes"
	}
	t.log.Info("connected", "server", t.cfg.Server, "nick", c.CurrentNick(), "caps", len(capsAcked), "confirm", confirm)
	go s.watchLink()

	if _, ok := is["BOT"]; ok && is["BOT"] != "" {
		t.enqueueControl(gen, "MODE", c.CurrentNick(), "+"+is["BOT"])
	}
	s.fatalMu.Lock()
	loggedIn := s.loggedIn
	s.fatalMu.Unlock()
	if c.UseSASL && !loggedIn && !t.cfg.NickServ {
		// the server answered no CAP LS, so irc-go registered without
		// SASL: the bot would run unidentified
		s.setFatal(s.noSASL())
		s.closeSock()
		return
	}
	s.checkNickServ(gen, loggedIn)
	for _, ch := range chans {
		t.join(gen, ch)
	}
}

func (s *session) isMe(nick string) bool {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	return Fold(t.casemap, nick) == Fold(t.casemap, s.conn.CurrentNick())
}

// onCap records what the server's CAP LS offers (also a multi-line one).
func (s *session) onCap(m ircmsg.Message) {
	if len(m.Params) < 3 || m.Params[1] != "LS" {
		return
	}
	s.fatalMu.Lock()
	if s.capLS == nil {
		s.capLS = map[string]string{}
	}
	sts, hasSTS := "", false
	for _, tok := range strings.Fields(lastParam(m)) {
		name, value, _ := strings.Cut(tok, "=")
		s.capLS[name] = value
		if name == "sts" {
			sts, hasSTS = value, true
		}
	}
	s.fatalMu.Unlock()
	// This runs before irc-go's own CAP handler, on the read goroutine:
	// closing the link here means no AUTHENTICATE follows.
	if hasSTS && s.onSTS(sts) {
		s.fatalMu.Lock()
		s.leftForSTS = true
		s.fatalMu.Unlock()
		s.closeSock()
	}
}

// lacksSASL reports whether the server's CAP LS offered no sasl.
func (s *session) lacksSASL() bool {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	_, ok := s.capLS["sasl"]
	return !ok
}

// saslMissingWarn is how many connections in a row may find the sasl
// capability missing (services down) before the ERROR saying what to
// change if the server has no SASL at all.
const saslMissingWarn = 3

// offersAccounts reports whether the server's CAP LS shows services
// accounts (account-tag or account-notify), SASL aside.
func (s *session) offersAccounts() bool {
	s.fatalMu.Lock()
	defer s.fatalMu.Unlock()
	_, tag := s.capLS["account-tag"]
	_, notify := s.capLS["account-notify"]
	return tag || notify
}

// noSASL is the configuration error of a server without SASL while
// [irc] sasl_user is set: the bot would run unidentified.
func (s *session) noSASL() error {
	s.fatalMu.Lock()
	saw := s.capLS != nil
	s.fatalMu.Unlock()
	how := "its CAP LS offers no sasl and no accounts"
	if !saw {
		how = "it answered no CAP LS"
	}
	return transport.Misconfigured(fmt.Errorf("%s does not support SASL (%s), but [irc] sasl_user is set: "+
		"remove sasl_user and sasl_password_file to run without an account, or set nickserv = true where NickServ is a network service",
		s.t.cfg.Server, how))
}
