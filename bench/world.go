// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// spec is one ksecbot deployment for a part of the benchmark.
type spec struct {
	name        string
	preload     int           // bugs created before the first start (mirrored by the baseline)
	preloadAge  time.Duration // how long before the start they were filed (0: just now)
	poll        time.Duration
	reconcile   time.Duration // 0: the default
	digestAfter int
	ircAddr     string // empty: no IRC
	ircFlood    string
	ircChannels int
	matrix      bool
	trees       int
}

// world is a running deployment: Bugzilla, ksecbot and its observers.
type world struct {
	bz       *bzServer
	bot      *botProc
	ircAddr  string // the IRC server's client port
	botNick  string
	channels []string
	irc      *ircObserver
	mxBot    mxtest.UserID
	room     mxtest.RoomID
	mx       *mxObserver
	started  time.Time
	ready    time.Duration // start to baseline stored and every channel joined
}

// setup starts the world of s and waits until ksecbot has joined every
// channel and room and stored its Bugzilla baseline.
func (b *bench) setup(ctx context.Context, s spec) (w *world, err error) {
	w = &world{bz: newBugzilla()}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	var filed time.Time
	if s.preloadAge > 0 {
		filed = time.Now().Add(-s.preloadAge)
	}
	for i := range s.preload {
		w.bz.createBugAt(i, "preloaded", filed)
	}
	conf := botConf{bugzillaURL: w.bz.url(), poll: s.poll, reconcile: s.reconcile, digestAfter: s.digestAfter, trees: s.trees}
	if s.ircAddr != "" {
		if w.irc, err = newIRCObserver(s.ircAddr); err != nil {
			return w, err
		}
		for range s.ircChannels {
			ch := randName("#bench-")
			if err := w.irc.join(ctx, ch); err != nil {
				return w, err
			}
			w.channels = append(w.channels, ch)
		}
		w.botNick, w.ircAddr = randName("ksb"), s.ircAddr
		conf.ircAddr, conf.ircNick, conf.ircChannels, conf.ircFlood = s.ircAddr, w.botNick, w.channels, s.ircFlood
	}
	if s.matrix {
		bot, err := b.hs.Register(ctx, "ksecbot-")
		if err != nil {
			return w, err
		}
		w.mxBot = bot.ID
		dir, err := os.MkdirTemp(b.work, "observer-")
		if err != nil {
			return w, fmt.Errorf("observer dir: %w", err)
		}
		if w.mx, err = newMXObserver(ctx, b.hs, dir); err != nil {
			return w, err
		}
		if w.room, err = mxtest.CreateRoom(ctx, w.mx.Client, mxtest.RoomSpec{Name: "ksecbot bench (encrypted)", Encrypted: true, Invite: []mxtest.UserID{w.mxBot}}); err != nil {
			return w, err
		}
		conf.mxURL, conf.mxUser, conf.mxPassword, conf.mxRooms = b.hs.URL, string(w.mxBot), bot.Password, []string{string(w.room)}
	}
	w.started = time.Now()
	if w.bot, err = startBot(b.bin, b.work, conf); err != nil {
		return w, err
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if w.irc != nil {
		joined := map[string]bool{}
		for len(joined) < len(w.channels) {
			a, err := w.irc.next(rctx, func(a arrival) bool { return a.kind == "JOIN" && strings.EqualFold(a.from, w.botNick) })
			if err != nil {
				return w, fmt.Errorf("%s: waiting for ksecbot to join the IRC channels: %w\n%s", s.name, err, w.bot.tail(20))
			}
			joined[strings.ToLower(a.target)] = true
		}
	}
	if w.mx != nil {
		if _, err := w.mx.next(rctx, func(a arrival) bool {
			return a.kind == "join" && a.from == string(w.mxBot) && a.target == string(w.room)
		}); err != nil {
			return w, fmt.Errorf("%s: waiting for ksecbot to join the Matrix room: %w\n%s", s.name, err, w.bot.tail(20))
		}
	}
	if err := w.bot.waitLog(rctx, "baseline stored"); err != nil {
		return w, fmt.Errorf("%s: %w", s.name, err)
	}
	if err := w.bot.waitLog(rctx, "http listening"); err != nil {
		return w, fmt.Errorf("%s: %w", s.name, err)
	}
	w.ready = time.Since(w.started)
	slog.Info("ksecbot ready", "part", s.name, "after", w.ready.Round(time.Millisecond), "preloaded_bugs", s.preload)
	return w, nil
}

func (w *world) close() {
	if w.bot != nil {
		w.bot.stop()
	}
	if w.irc != nil {
		w.irc.close()
	}
	if w.mx != nil {
		w.mx.close()
	}
	w.bz.close()
}

// bugRE finds the first bug number in an announcement.
var bugRE = regexp.MustCompile(`\bbug (\d+)\b`)

// announces reports whether text is the announcement of bug id.
func announces(text string, id int) bool {
	m := bugRE.FindStringSubmatch(text)
	return m != nil && m[1] == strconv.Itoa(id) && strings.Contains(text, "New ")
}

// fromBotIRC matches a PRIVMSG from the bot in channel (any if empty)
// whose text satisfies pred.
func (w *world) fromBotIRC(channel string, pred func(string) bool) func(arrival) bool {
	return func(a arrival) bool {
		return a.kind == "PRIVMSG" && strings.EqualFold(a.from, w.botNick) &&
			(channel == "" || strings.EqualFold(a.target, channel)) && pred(a.text)
	}
}

// fromBotMX matches a message from the bot in the room whose body
// satisfies pred.
func (w *world) fromBotMX(pred func(string) bool) func(arrival) bool {
	return func(a arrival) bool {
		return a.kind == "message" && a.from == string(w.mxBot) && a.target == string(w.room) && pred(a.text)
	}
}

// drain empties both observers' queues.
func (w *world) drain() {
	if w.irc != nil {
		w.irc.drain()
	}
	if w.mx != nil {
		w.mx.drain()
	}
}
