// SPDX-License-Identifier: GPL-3.0-or-later

package irctest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/chat"
)

// observed are the commands an Observer records.
var observed = []string{"PRIVMSG", "NOTICE", "JOIN", "QUIT", "PART", "KICK", "MODE", "ACCOUNT", "ERROR", "353"}

// Options configure an Observer.
type Options struct {
	Nick     string // default RandName("obs")
	Account  string // log in by SASL to this services account; none if empty
	Password string // default Password(Account)
	// LocalIP, if set, is the local address to connect from (say
	// 127.0.0.7: every 127/8 address is the loopback), so that the server
	// sees another host than the other observers'.
	LocalIP string
}

// Observer is a plain irc-go client, a person's IRC client: it records
// every PRIVMSG, NOTICE, JOIN, QUIT, PART, KICK, MODE, ACCOUNT, ERROR and
// NAMES line (353) it sees, with its tags and the time it arrived. It asks
// for account-tag, account-notify, extended-join, server-time and
// message-tags. Safe for concurrent use.
type Observer struct {
	// Conn is the connection, for sending what the helpers do not.
	Conn   *ircevent.Connection
	mu     sync.Mutex
	msgs   []ircmsg.Message
	at     []time.Time
	cursor int // Next and WaitFor read from here
	notify chan struct{}
}

// Dial connects an observer to addr. It does not reconnect: a dropped
// observer stays dropped. Close it when done.
func Dial(addr string, o Options) (*Observer, error) {
	if o.Nick == "" {
		o.Nick = RandName("obs")
	}
	obs := &Observer{notify: make(chan struct{}, 1)}
	c := &ircevent.Connection{
		Server:      addr,
		Nick:        o.Nick,
		RequestCaps: []string{"account-tag", "account-notify", "extended-join", "server-time", "message-tags"},
		Timeout:     10 * time.Second,
		KeepAlive:   time.Minute,
		Log:         slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	if o.LocalIP != "" {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(o.LocalIP)}, Timeout: 10 * time.Second}
		c.DialContext = d.DialContext
	}
	if o.Account != "" {
		if o.Password == "" {
			o.Password = Password(o.Account)
		}
		c.SASLLogin, c.SASLPassword, c.UseSASL = o.Account, o.Password, true
	}
	for _, cmd := range observed {
		c.AddCallback(cmd, obs.record)
	}
	if err := c.Connect(); err != nil {
		return nil, fmt.Errorf("observer %s connect to %s: %w", o.Nick, addr, err)
	}
	obs.Conn = c
	return obs, nil
}

// NewObserver is Dial for tests: it fails the test on error and closes the
// observer in the test's cleanup.
func NewObserver(t testing.TB, addr string, o Options) *Observer {
	t.Helper()
	obs, err := Dial(addr, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(obs.Close)
	return obs
}

// TakeNick is NewObserver under a fixed nick of the shared server that
// concurrent test runs (other packages, other checkouts, the next -count
// iteration whose predecessor's QUIT is still on its way) may hold for a
// while, such as a fake NickServ: while someone else has it, it connects
// again until timeout, then fails the test.
func TakeNick(t testing.TB, addr, nick string, timeout time.Duration) *Observer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		obs, err := Dial(addr, Options{Nick: nick})
		if err != nil {
			t.Fatal(err)
		}
		got := obs.Nick()
		if strings.EqualFold(got, nick) {
			t.Cleanup(obs.Close)
			return obs
		}
		obs.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the nick %s was taken for %v by another client (got %q)", nick, timeout, got)
		}
		time.Sleep(250 * time.Millisecond) // polling for the nick to be free
	}
}

// record runs on irc-go's read goroutine: it never blocks.
func (o *Observer) record(m ircmsg.Message) {
	now := time.Now()
	o.mu.Lock()
	o.msgs = append(o.msgs, m)
	o.at = append(o.at, now)
	o.mu.Unlock()
	select {
	case o.notify <- struct{}{}:
	default:
	}
}

// Close quits the connection.
func (o *Observer) Close() { o.Conn.Quit() }

// Nick returns the observer's current nick.
func (o *Observer) Nick() string { return o.Conn.CurrentNick() }

// History returns every recorded message so far, in order.
func (o *Observer) History() []ircmsg.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ircmsg.Message(nil), o.msgs...)
}

// Arrivals returns every recorded message so far with the time it
// arrived, in order.
func (o *Observer) Arrivals() ([]ircmsg.Message, []time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]ircmsg.Message(nil), o.msgs...), append([]time.Time(nil), o.at...)
}

// Drain makes Next and WaitFor skip what arrived so far.
func (o *Observer) Drain() {
	o.mu.Lock()
	o.cursor = len(o.msgs)
	o.mu.Unlock()
}

// Next returns the next message (after the previous Next or WaitFor) for
// which pred holds, when it arrived, and the messages it skipped in order.
func (o *Observer) Next(ctx context.Context, pred func(ircmsg.Message) bool) (ircmsg.Message, time.Time, []ircmsg.Message, error) {
	var skipped []ircmsg.Message
	for {
		o.mu.Lock()
		for o.cursor < len(o.msgs) {
			m, at := o.msgs[o.cursor], o.at[o.cursor]
			o.cursor++
			if pred(m) {
				o.mu.Unlock()
				return m, at, skipped, nil
			}
			skipped = append(skipped, m)
		}
		o.mu.Unlock()
		select {
		case <-o.notify:
		case <-ctx.Done():
			return ircmsg.Message{}, time.Time{}, skipped, ctx.Err()
		}
	}
}

// WaitFor is Next for tests: it fails the test with what, and the
// messages it saw, after timeout. It returns the message and those it
// skipped, for tests that count what arrived.
func (o *Observer) WaitFor(t testing.TB, timeout time.Duration, what string, pred func(ircmsg.Message) bool) (ircmsg.Message, []ircmsg.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m, _, skipped, err := o.Next(ctx, pred)
	if err != nil {
		t.Fatalf("timed out after %v waiting for %s; saw %s", timeout, what, Describe(skipped))
	}
	return m, skipped
}

// Until waits until cond holds for the whole history (every message
// recorded so far, Next's cursor aside) and fails the test after timeout.
func (o *Observer) Until(t testing.TB, timeout time.Duration, what string, cond func([]ircmsg.Message) bool) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		h := o.History()
		if cond(h) {
			return
		}
		select {
		case <-o.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %v waiting for %s (%d messages seen)", timeout, what, len(h))
		}
	}
}

// ArrivedAt returns when the first message of the history for which pred
// holds arrived, or the zero time.
func (o *Observer) ArrivedAt(pred func(ircmsg.Message) bool) time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i, m := range o.msgs {
		if pred(m) {
			return o.at[i]
		}
	}
	return time.Time{}
}

// JoinContext joins channel and waits for the server's JOIN.
func (o *Observer) JoinContext(ctx context.Context, channel string) error {
	if err := o.Conn.Join(channel); err != nil {
		return fmt.Errorf("observer join %s: %w", channel, err)
	}
	if _, _, _, err := o.Next(ctx, From("JOIN", o.Nick(), channel)); err != nil {
		return fmt.Errorf("observer join %s: %w", channel, err)
	}
	return nil
}

// Join joins channel, sets key (+k) if given, and waits for both.
func (o *Observer) Join(t testing.TB, channel, key string) {
	t.Helper()
	if err := o.Conn.Join(channel); err != nil {
		t.Fatal(err)
	}
	o.WaitFor(t, 10*time.Second, "observer JOIN "+channel, From("JOIN", o.Nick(), channel))
	if key != "" {
		if err := o.Conn.Send("MODE", channel, "+k", key); err != nil {
			t.Fatal(err)
		}
		o.WaitFor(t, 10*time.Second, "MODE +k", From("MODE", o.Nick(), channel))
	}
}

// Say sends a PRIVMSG.
func (o *Observer) Say(t testing.TB, target, text string) {
	t.Helper()
	if err := o.Conn.Privmsg(target, text); err != nil {
		t.Fatalf("observer PRIVMSG: %v", err)
	}
}

// From matches a cmd from nick whose first parameter is param0 (any if
// empty); nick and param0 compare case-insensitively.
func From(cmd, nick, param0 string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		return m.Command == cmd && strings.EqualFold(m.Nick(), nick) &&
			(param0 == "" || (len(m.Params) > 0 && strings.EqualFold(m.Params[0], param0)))
	}
}

// PrivmsgFrom matches a PRIVMSG from nick to target (any if empty) whose
// text, without bold, contains every one of want.
func PrivmsgFrom(nick, target string, want ...string) func(ircmsg.Message) bool {
	return func(m ircmsg.Message) bool {
		if !From("PRIVMSG", nick, target)(m) || len(m.Params) < 2 {
			return false
		}
		txt := PlainText(m.Params[1])
		for _, w := range want {
			if !strings.Contains(txt, w) {
				return false
			}
		}
		return true
	}
}

// PlainText is the text as a person reads it: without the formatting the
// bot adds (bold) and without the invisible chat.NoPing it puts into the
// nicks of people present so the text highlights no one. Check highlights
// on the raw text.
func PlainText(s string) string {
	return strings.NewReplacer("\x02", "", string(chat.NoPing), "").Replace(s)
}

// LastParam returns m's last parameter (the text of a PRIVMSG, the
// reason of a QUIT), or "".
func LastParam(m ircmsg.Message) string {
	if len(m.Params) == 0 {
		return ""
	}
	return m.Params[len(m.Params)-1]
}

// Describe renders messages for a failure report, at most 20 of them.
func Describe(ms []ircmsg.Message) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %s %q", m.Nick(), m.Command, m.Params))
	}
	if len(parts) > 20 {
		parts = append(parts[:20], fmt.Sprintf("... %d more", len(parts)-20))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}
