// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"github.com/ergochat/irc-go/ircmsg"
)

// whoxToken tags our WHOX queries so we only read our own replies.
const whoxToken = "473"

// Account returns the services account last seen for nick ("" when the
// nick is known not to be logged in) and whether the nick is known.
func (t *Transport) Account(nick string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.accounts[Fold(t.casemap, nick)]
	return a, ok
}

// accountParam maps the "*" / "0" of extended-join, ACCOUNT and WHOX to "".
func accountParam(a string) string {
	if a == "*" || a == "0" {
		return ""
	}
	return a
}

func (s *session) onJoin(m ircmsg.Message) {
	if len(m.Params) == 0 {
		return
	}
	t := s.t
	ch, nick := m.Params[0], m.Nick()
	if s.isMe(nick) {
		t.mu.Lock()
		// With account-tag every message names its sender's account, so
		// the members' accounts need not be asked for: one line less per
		// channel against the flood allowance right after connecting.
		gen, whox := t.gen, t.whox && !t.accountTag
		t.joined[Fold(t.casemap, ch)] = true
		delete(t.joining, Fold(t.casemap, ch))
		t.joinChangedLocked()
		t.mu.Unlock()
		t.log.Info("joined", "channel", ch)
		s.joinSucceeded(ch)
		if whox {
			t.enqueueControl(gen, "WHO", ch, "%tna,"+whoxToken)
		}
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Fold(t.casemap, nick)
	t.addMember(f, ch)
	if len(m.Params) >= 3 { // extended-join: channel account :realname
		t.accounts[f] = accountParam(m.Params[1])
	} else if t.accountTag {
		_, a := m.GetTag("account")
		t.accounts[f] = a
	}
}

// addMember records that folded nick f is in channel ch. Caller holds t.mu.
func (t *Transport) addMember(f, ch string) {
	set := t.members[f]
	if set == nil {
		set = map[string]bool{}
		t.members[f] = set
	}
	set[Fold(t.casemap, ch)] = true
}

func (s *session) onLeave(nick, ch string) {
	t := s.t
	me := s.isMe(nick)
	t.mu.Lock()
	defer t.mu.Unlock()
	fc := Fold(t.casemap, ch)
	if me {
		delete(t.joined, fc)
		t.joinChangedLocked()
		for f := range t.members {
			t.dropMember(f, fc)
		}
		return
	}
	t.dropMember(Fold(t.casemap, nick), fc)
}

// dropMember records that folded nick f left folded channel fc, and
// forgets the nick once it shares no channel with us. Caller holds t.mu.
func (t *Transport) dropMember(f, fc string) {
	if set := t.members[f]; set != nil {
		delete(set, fc)
		if len(set) == 0 {
			delete(t.members, f)
			delete(t.accounts, f)
		}
	}
}

func (s *session) forget(nick string) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	f := Fold(t.casemap, nick)
	delete(t.members, f)
	delete(t.accounts, f)
}

func (s *session) onNick(m ircmsg.Message) {
	if len(m.Params) == 0 {
		return
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	from, to := Fold(t.casemap, m.Nick()), Fold(t.casemap, m.Params[0])
	if a, ok := t.accounts[from]; ok {
		delete(t.accounts, from)
		t.accounts[to] = a
	}
	if set, ok := t.members[from]; ok {
		delete(t.members, from)
		t.members[to] = set
	}
}

func (s *session) setAccount(nick, account string) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.accounts[Fold(t.casemap, nick)] = account
}

// onWhox reads "354 me 473 nick account".
func (s *session) onWhox(m ircmsg.Message) {
	if len(m.Params) < 4 || m.Params[1] != whoxToken {
		return
	}
	t := s.t
	nick, acct := m.Params[2], accountParam(m.Params[3])
	t.mu.Lock()
	f := Fold(t.casemap, nick)
	t.accounts[f] = acct
	waiting := t.pending[f]
	delete(t.pending, f)
	t.mu.Unlock()
	for _, fn := range waiting {
		fn(acct)
	}
}

// onEndOfWho resolves lookups the WHOX reply did not answer (unknown nick).
func (s *session) onEndOfWho(m ircmsg.Message) {
	if len(m.Params) < 2 {
		return
	}
	t := s.t
	t.mu.Lock()
	f := Fold(t.casemap, m.Params[1])
	waiting := t.pending[f]
	delete(t.pending, f)
	t.mu.Unlock()
	for _, fn := range waiting {
		fn("")
	}
}
