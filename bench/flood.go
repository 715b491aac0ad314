// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/internal/irctest"
)

// floodPart is (h): a command flood on the strict (Libera-like) IRC port
// with the default flood settings: 10 users (10 hosts) send !pending 10
// times each, one more user sends 100 commands, all as fast as their
// clients write, and a new bug is filed 5 s into the flood. The users are
// on the lenient port of the same server (a person's client would be
// throttled by the server, not refused); ksecbot is on the strict one. It
// measures how long the flood's answers hold the channel, when the last
// "busy" or "slow down" line arrives, and the new bug's announcement
// latency.
func (b *bench) floodPart(ctx context.Context) error {
	if b.strictAddr == "" {
		return errors.New("the command flood needs the IRC test server (without --skip-irc)")
	}
	s := spec{name: "flood", poll: time.Hour, preload: 20, ircAddr: b.strictAddr, ircChannels: 1, trees: 10}
	w, err := b.setup(ctx, s)
	if err != nil {
		return err
	}
	defer w.close()
	ch := w.channels[0]
	const users, each, flood = 10, 10, 100
	var clients []*irctest.Observer
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for u := range users + 1 { // the last one floods alone
		c, err := irctest.Dial(b.ircAddr, irctest.Options{LocalIP: fmt.Sprintf("127.0.0.%d", 10+u)})
		if err != nil {
			return err
		}
		clients = append(clients, c)
		if err := c.JoinContext(ctx, ch); err != nil {
			return err
		}
	}
	w.irc.drain()
	t0 := time.Now()
	for range each {
		for _, c := range clients[:users] {
			if err := c.Conn.Privmsg(ch, "!pending"); err != nil {
				return fmt.Errorf("flooding: %w", err)
			}
		}
	}
	for range flood {
		if err := clients[users].Conn.Privmsg(ch, "!pending"); err != nil {
			return fmt.Errorf("flooding: %w", err)
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(t0.Add(5 * time.Second))):
	}
	id := w.bz.createBug(9000, "filed during the flood")
	tBug := time.Now()
	if err := w.bot.push(ctx, id); err != nil {
		return err
	}
	var (
		announced, last, lastNotice, sent time.Duration
		lines, busy, slow, commands       int
	)
	fctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	for { // every line of the bot until it has been quiet for 20 s
		qctx, qcancel := context.WithTimeout(fctx, 20*time.Second)
		a, err := w.irc.next(qctx, func(a arrival) bool {
			return a.kind == "PRIVMSG" || a.kind == "NOTICE" || a.kind == "QUIT"
		})
		qcancel()
		if err != nil {
			break
		}
		if !strings.EqualFold(a.from, w.botNick) {
			if a.text == "!pending" && a.target == ch {
				commands++
				sent = a.at.Sub(t0) // the server relayed the command
			}
			continue
		}
		if a.kind == "QUIT" {
			slog.Warn("the bot quit the IRC server during the flood", "reason", a.text)
			continue
		}
		switch {
		case announces(a.text, id):
			announced = a.at.Sub(tBug)
			continue
		case strings.Contains(a.text, "busy, try again"):
			busy++
			lastNotice = a.at.Sub(t0)
		case strings.HasPrefix(a.text, "slow down"):
			slow++
			lastNotice = a.at.Sub(t0)
		}
		lines++
		last = a.at.Sub(t0)
	}
	metric := func(name, label string) int {
		v, _ := w.bot.metric(ctx, name+label)
		return int(v)
	}
	accepted, queueFull, limited := metric("ksecbot_commands_total", `{result="accepted"}`), metric("ksecbot_commands_total", `{result="busy"}`), metric("ksecbot_commands_total", `{result="limited"}`)
	expired := metric("ksecbot_command_replies_expired_total", "")
	disc := w.bot.countLog(`msg="disconnected, reconnecting" component=irc`) + w.bot.countLog(`msg="server closed the link" component=irc`)
	got := "not announced within 10 min"
	if announced > 0 {
		got = ms(announced)
	}
	what := fmt.Sprintf("%d users x %d !pending and %d from one user, relayed by the server within %s (%d seen)", users, each, flood, ms(sent), commands)
	b.rows = append(b.rows,
		row{what: "(h) command flood, strict server, default flood: the answers hold the channel for (" + what + ")", measured: fmt.Sprintf("%s after the first command: %d lines (%d busy, %d slow down; commands accepted %d, queue full %d, over the limit %d; replies expired %d)",
			ms(last), lines, busy, slow, accepted, queueFull, limited, expired), v: info},
		row{what: "(h) last busy or slow-down line after the first command", measured: ms(lastNotice), v: info},
		row{what: "(h) a new bug filed 5 s into the flood: push to announcement", target: "< 2 s", measured: got, v: check(announced > 0 && announced < 2*time.Second)},
		row{what: "(h) IRC disconnects during the flood", target: "0", measured: fmt.Sprint(disc), v: check(disc == 0)})
	return nil
}
