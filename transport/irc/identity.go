// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"github.com/ergochat/irc-go/ircmsg"
)

// Our WHOX queries carry a token, so that we read only our own replies:
// the members of a channel we joined ("WHO #chan %tcna,473": channel,
// nick, account) and the account of one sender ("WHO nick %tna,474").
const (
	whoxMembers = "473"
	whoxSender  = "474"
)

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
		delete(t.named, Fold(t.casemap, ch)) // its NAMES list follows
		delete(t.joining, Fold(t.casemap, ch))
		t.joinChangedLocked()
		t.mu.Unlock()
		t.log.Info("joined", "channel", ch)
		s.joinSucceeded(ch)
		if whox {
			t.enqueueControl(gen, "WHO", ch, "%tcna,"+whoxMembers)
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
		delete(t.named, fc)
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

// setAccount records an account change (account-notify) of a nick that
// shares a channel with us.
func (s *session) setAccount(nick, account string) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cacheAccountLocked(Fold(t.casemap, nick), account)
}

// cacheAccountLocked remembers folded nick f's account, if f shares a
// channel with us: then its account changes (account-notify), nick
// changes and quits reach us, and the cache stays true. Anyone else's
// account would go stale unseen, and whoever takes the nick next would
// inherit it; such a nick is asked about at each of its messages.
// Caller holds t.mu.
func (t *Transport) cacheAccountLocked(f, account string) {
	if _, member := t.members[f]; member {
		t.accounts[f] = account
	}
}

// lookUp asks the server for nick's account on behalf of a message from
// it. The query waits with the command replies (see pick): a nick that
// shares no channel with us is asked about at each message, and a flood
// of private messages must not delay announcements.
func (t *Transport) lookUp(gen uint64, nick string) {
	t.mu.Lock()
	l := &outLine{cmd: "WHO", params: []string{nick, "%tna," + whoxSender}, gen: gen, queued: t.opt.Now()}
	t.queue[prioReply] = append(t.queue[prioReply], l)
	t.mu.Unlock()
	t.signal()
}

// onWhox reads "354 me 473 #chan nick account" (a member of a channel we
// are in) and "354 me 474 nick account" (a sender we asked about).
func (s *session) onWhox(m ircmsg.Message) {
	if len(m.Params) < 4 {
		return
	}
	t := s.t
	t.mu.Lock()
	var nick, acct string
	switch {
	case m.Params[1] == whoxMembers && len(m.Params) >= 5:
		nick, acct = m.Params[3], accountParam(m.Params[4])
		if ch := m.Params[2]; t.joined[Fold(t.casemap, ch)] {
			t.addMember(Fold(t.casemap, nick), ch)
		}
	case m.Params[1] == whoxSender:
		nick, acct = m.Params[2], accountParam(m.Params[3])
	default:
		t.mu.Unlock()
		return
	}
	f := Fold(t.casemap, nick)
	t.cacheAccountLocked(f, acct)
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
