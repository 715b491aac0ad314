// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircmsg"

	"github.com/ksecbot/ksecbot/internal/irctest"
)

// arrival is one chat message as an observer saw it, stamped on receipt.
type arrival struct {
	at     time.Time
	from   string // IRC nick or Matrix user ID
	target string // channel or room ID
	kind   string // PRIVMSG, JOIN, QUIT, ... or "message" / "join" on Matrix
	text   string // formatting stripped
}

// ircObserver is a plain IRC client in the bot's channels (an
// irctest.Observer): it stamps every line the moment irc-go's read
// goroutine parses it.
type ircObserver struct{ *irctest.Observer }

var randName = irctest.RandName

// newIRCObserver connects a client without an account (anyone may ask
// !pending).
func newIRCObserver(addr string) (*ircObserver, error) {
	o, err := irctest.Dial(addr, irctest.Options{})
	if err != nil {
		return nil, err
	}
	return &ircObserver{o}, nil
}

func (o *ircObserver) close() { o.Close() }

// join joins channel and waits for the server's confirmation.
func (o *ircObserver) join(ctx context.Context, channel string) error {
	return o.JoinContext(ctx, channel)
}

// next returns the next arrival for which match holds, dropping others.
func (o *ircObserver) next(ctx context.Context, match func(arrival) bool) (arrival, error) {
	m, at, _, err := o.Next(ctx, func(m ircmsg.Message) bool { return match(toArrival(m, time.Time{})) })
	if err != nil {
		return arrival{}, err
	}
	return toArrival(m, at), nil
}

func toArrival(m ircmsg.Message, at time.Time) arrival {
	a := arrival{at: at, from: m.Nick(), kind: m.Command}
	if len(m.Params) > 0 {
		a.target = m.Params[0]
	}
	if len(m.Params) > 1 {
		a.text = stripFormatting(m.Params[len(m.Params)-1])
	}
	return a
}

// stripFormatting removes IRC formatting and control characters.
func stripFormatting(s string) string {
	var b strings.Builder
	skipColour := 0
	for _, r := range s {
		switch {
		case r == 0x03:
			skipColour = 5 // up to "NN,NN"
			continue
		case skipColour > 0 && (r >= '0' && r <= '9' || r == ','):
			skipColour--
			continue
		case r < 0x20:
			skipColour = 0
			continue
		}
		skipColour = 0
		b.WriteRune(r)
	}
	return b.String()
}

// drain drops what arrived so far, so a timed wait sees only new arrivals.
func (o *ircObserver) drain() { o.Drain() }
