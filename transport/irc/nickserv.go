// SPDX-License-Identifier: GPL-3.0-or-later

// NickServ: the fallback IDENTIFY sends the bot's password, so it goes
// only to a NickServ the server marks as a network service; and the
// advice to people who are not identified fits what the server has.

package irc

import (
	"fmt"
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/transport"
)

// Advice to an unidentified sender, by what the server offers.
const (
	adviceNickServ = "log in to your services account (/msg NickServ IDENTIFY ...)"
	adviceSASL     = "log in to your services account (SASL in your IRC client)"
	adviceNone     = "this IRC server has no services accounts, so use ksecbot from a network that has them (Matrix, or IRC with services)"
)

// checkNickServ asks the server who NickServ is (WHOIS) at every
// connection: the answer decides whether the fallback IDENTIFY may go
// (onEndOfWhois) and which advice unidentified senders get.
func (s *session) checkNickServ(gen uint64, loggedIn bool) {
	t := s.t
	want := t.cfg.NickServ && !loggedIn && t.cfg.SASLUser != "" && t.saslPassword() != ""
	s.fatalMu.Lock()
	s.nsIdentify, s.nsService = want, false
	s.fatalMu.Unlock()
	t.enqueueControl(gen, "WHOIS", "NickServ")
}

// onWhoisService notes a 313 about NickServ that says it is a service
// (InspIRCd "is a Service on <network>", Solanum "is a Network
// Service"). An ordinary client that took the nick NickServ (a server
// without services, like ngIRCd) gets no such line.
func (s *session) onWhoisService(m ircmsg.Message) {
	if len(m.Params) < 3 || !strings.EqualFold(m.Params[1], "NickServ") {
		return
	}
	if strings.Contains(strings.ToLower(lastParam(m)), "service") {
		s.fatalMu.Lock()
		s.nsService = true
		s.fatalMu.Unlock()
	}
}

// onEndOfWhois decides once the WHOIS of NickServ is complete: the
// password goes to a network service only; otherwise the bot runs
// without an account, logs it once and tells the private channels.
func (s *session) onEndOfWhois(m ircmsg.Message) {
	if len(m.Params) < 2 || !strings.EqualFold(m.Params[1], "NickServ") {
		return
	}
	t := s.t
	s.fatalMu.Lock()
	svc, want := s.nsService, s.nsIdentify
	s.nsIdentify = false
	s.fatalMu.Unlock()
	t.mu.Lock()
	t.nickServ = svc
	gen := t.gen
	t.mu.Unlock()
	if !want {
		return
	}
	if svc {
		t.enqueueControl(gen, "PRIVMSG", "NickServ", "IDENTIFY "+t.cfg.SASLUser+" "+t.saslPassword())
		return
	}
	if t.nickServRefused.Swap(true) {
		return // said once
	}
	t.log.Error("NickServ is not a network service here: its IDENTIFY with the password was not sent; running without an account",
		"server", t.cfg.Server)
	t.networkWarning(fmt.Sprintf("NickServ on %s is not a network service (anyone could hold that nick), so ksecbot did not send it the password and runs there without an account: use an IRC server with SASL, or remove nickserv = true from [irc]", t.cfg.Server))
}

// howToIdentifyLocked is the advice for a sender without an account:
// NickServ where it is a service, SASL where the server has accounts,
// and no login advice where it has none. Caller holds t.mu.
func (t *Transport) howToIdentifyLocked() string {
	switch {
	case t.nickServ:
		return adviceNickServ
	case t.hasAccounts:
		return adviceSASL
	}
	return adviceNone
}

// networkWarning tells the core of a problem of the network that does
// not stop it (transport.Warnings), when its Inbox listens.
func (t *Transport) networkWarning(problem string) {
	t.mu.Lock()
	in, ctx := t.inbox, t.runCtx
	t.mu.Unlock()
	if w, ok := in.(transport.Warnings); ok {
		w.NetworkWarning(ctx, t.Network(), problem)
	}
}
