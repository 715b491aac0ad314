// SPDX-License-Identifier: GPL-3.0-or-later

package irc

import (
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
)

// onPrivmsg hands channel and private messages to the inbox with the
// sender's services account.
func (s *session) onPrivmsg(m ircmsg.Message) {
	if len(m.Params) < 2 || !strings.Contains(m.Source, "!") {
		return // server messages
	}
	t := s.t
	nick, target, text := m.Nick(), m.Params[0], m.Params[1]
	if s.isMe(nick) {
		s.echoed("PRIVMSG", target, text, msgID(m))
		return
	}
	if strings.HasPrefix(text, "\x01") {
		s.onCTCP(nick, text)
		return
	}
	t.mu.Lock()
	inbox, ctx := t.inbox, t.runCtx
	f := Fold(t.casemap, nick)
	msg := chat.Incoming{
		Sender: chat.Identity{Network: Name, Nick: nick, Host: sourceHost(m.Source),
			Kind: "IRC account", HowToIdentify: t.howToIdentifyLocked()},
		Text: chat.Sanitize(text),
	}
	msg.ID = msgID(m)
	msg.ReplyTo = replyTo(m)
	if t.isChannel(target) {
		i, ok := t.channelConfig(target)
		if !ok {
			t.mu.Unlock()
			return
		}
		msg.Channel = t.channels[i]
		msg.Target = t.channels[i].Name
	} else {
		msg.Channel = chat.Channel{Key: chat.ChannelKey(Name, nick), Network: Name, Name: nick, Terse: true}
		msg.Target = nick
		msg.Direct = true
	}
	var (
		acct  string
		known bool
	)
	if t.accountTag {
		_, acct = m.GetTag("account") // absent: not logged in
		known = true
		if _, member := t.members[f]; member {
			t.accounts[f] = acct
		}
	} else if t.accountNotify {
		// only members of a shared channel are cached (cacheAccountLocked)
		acct, known = t.accounts[f]
	} // else: without account-notify a cached account may be stale; ask
	if !known && t.whox {
		// ask the server, deliver when it answers
		first := len(t.pending[f]) == 0
		t.pending[f] = append(t.pending[f], func(a string) {
			msg.Sender.Account = a
			inbox.Receive(ctx, msg)
		})
		gen := t.gen
		t.mu.Unlock()
		if first {
			t.lookUp(gen, nick)
		}
		return
	}
	t.mu.Unlock()
	msg.Sender.Account = acct
	if inbox != nil {
		inbox.Receive(ctx, msg)
	}
}

// msgID is the server's msgid of a message, or "".
func msgID(m ircmsg.Message) string {
	_, id := m.GetTag("msgid")
	return id
}

// replyTo is the msgid a message replies to: the client tag +draft/reply
// (or +reply, its name once ratified), which clients send when a person
// replies to a message (needs message-tags), or "".
func replyTo(m ircmsg.Message) string {
	for _, tag := range []string{"+draft/reply", "+reply"} {
		if ok, id := m.GetTag(tag); ok && id != "" {
			return id
		}
	}
	return ""
}

// sourceHost returns the host part of a "nick!user@host" source, or "".
func sourceHost(source string) string {
	if i := strings.LastIndexByte(source, '@'); i >= 0 {
		return source[i+1:]
	}
	return ""
}

// onCTCP answers VERSION (at most once per 5 s, through the limiter) and
// ignores every other CTCP, including ACTION and DCC.
func (s *session) onCTCP(nick, text string) {
	body := strings.Trim(text, "\x01")
	if !strings.EqualFold(strings.SplitN(body, " ", 2)[0], "VERSION") {
		return
	}
	t := s.t
	t.mu.Lock()
	now := t.opt.Now()
	if now.Sub(t.ctcpLast) < 5*time.Second {
		t.mu.Unlock()
		return
	}
	t.ctcpLast = now
	gen := t.gen
	t.mu.Unlock()
	t.enqueueControl(gen, "NOTICE", nick, "\x01VERSION "+chat.Sanitize(t.opt.Version)+"\x01")
}

// isChannel reports whether target names a channel. Caller holds t.mu.
func (t *Transport) isChannel(target string) bool {
	return target != "" && strings.ContainsRune(t.chantypes, rune(target[0]))
}

// onNotice only reads the echoes of our own NOTICEs: the bot takes no
// commands by NOTICE.
func (s *session) onNotice(m ircmsg.Message) {
	if len(m.Params) < 2 || !strings.Contains(m.Source, "!") || !s.isMe(m.Nick()) {
		return
	}
	s.echoed("NOTICE", m.Params[0], m.Params[1], msgID(m))
}

// echoed confirms a line by its unlabeled echo (echo-message without
// labeled-response; labeled echoes go to the line's own callback).
func (s *session) echoed(cmd, target, text, msgid string) {
	t := s.t
	t.mu.Lock()
	byContent := t.echo && !t.labels
	t.mu.Unlock()
	if byContent {
		t.onEcho(cmd, target, text, msgid)
	}
}
