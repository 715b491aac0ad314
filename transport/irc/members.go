// SPDX-License-Identifier: GPL-3.0-or-later

// Who is in each channel, from NAMES when the bot joins and then JOIN,
// PART, QUIT, NICK and KICK (identity.go keeps the map): the nicks that
// text sent there must not highlight.

package irc

import (
	"strings"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
)

// defaultPrefixes are the membership prefixes of NAMES replies when the
// server does not say (ISUPPORT PREFIX): founder, protected, op, half-op,
// voice.
const defaultPrefixes = "~&@%+"

// onNames reads "353 me = #chan :@op +voice nick ...": each nick is a
// member of the channel.
func (s *session) onNames(m ircmsg.Message) {
	if len(m.Params) < 4 {
		return
	}
	t := s.t
	ch := m.Params[2]
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range strings.Fields(m.Params[3]) {
		n = strings.TrimLeft(n, t.prefixes)
		if i := strings.IndexByte(n, '!'); i >= 0 { // userhost-in-names
			n = n[:i]
		}
		if n != "" {
			t.addMember(Fold(t.casemap, n), ch)
		}
	}
}

// onEndOfNames reads "366 me #chan :End of /NAMES list": the channel's
// members are known, so Sends to it may go out (waitJoinedLocked).
func (s *session) onEndOfNames(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	fc := Fold(t.casemap, m.Params[1])
	if t.joined[fc] && !t.named[fc] {
		t.named[fc] = true
		t.joinChangedLocked()
	}
}

// prefixesOf returns the membership prefix characters of an ISUPPORT
// PREFIX value, "(ov)@+" -> "@+".
func prefixesOf(isupport string) string {
	if i := strings.IndexByte(isupport, ')'); strings.HasPrefix(isupport, "(") && i > 0 {
		return isupport[i+1:]
	}
	return defaultPrefixes
}

// quietFor returns the names a message to target must not highlight: the
// members of channel target (nobody for a private message: it notifies
// its recipient anyway), and the handles the core listed (the
// maintainers; Outgoing.Quiet). Caller holds t.mu.
func (t *Transport) quietFor(target string, out chat.Outgoing) *chat.Names {
	names := chat.NewNames(runeFolder(t.casemap), out.Quiet[Name]...)
	if !t.isChannel(target) {
		return names
	}
	fc := Fold(t.casemap, target)
	for nick, chans := range t.members {
		if chans[fc] {
			names.Add(nick)
		}
	}
	return names
}
