package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/ergochat/irc-go/ircevent"
	"github.com/ergochat/irc-go/ircmsg"
)

// arrival is one chat message as an observer saw it, stamped on receipt.
type arrival struct {
	at     time.Time
	from   string // IRC nick or Matrix user ID
	target string // channel or room ID
	kind   string // PRIVMSG, JOIN, QUIT, ... or "message" / "join" on Matrix
	text   string // formatting stripped
}

// ircObserver is a plain IRC client in the bot's channels: it stamps every
// line the moment irc-go's read goroutine parses it.
type ircObserver struct {
	conn *ircevent.Connection
	in   chan arrival
}

func randName(prefix string) string { return fmt.Sprintf("%s%06d", prefix, rand.IntN(1000000)) }

// newIRCObserver connects a client without an account (anyone may ask
// !pending).
func newIRCObserver(addr string) (*ircObserver, error) {
	o := &ircObserver{in: make(chan arrival, 20000)}
	c := &ircevent.Connection{
		Server:    addr,
		Nick:      randName("obs"),
		Timeout:   10 * time.Second,
		KeepAlive: time.Minute,
		Log:       slog.NewLogLogger(slog.DiscardHandler, slog.LevelDebug),
	}
	for _, cmd := range []string{"PRIVMSG", "NOTICE", "JOIN", "QUIT", "PART", "KICK"} {
		c.AddCallback(cmd, func(m ircmsg.Message) {
			a := arrival{at: time.Now(), from: m.Nick(), kind: m.Command}
			if len(m.Params) > 0 {
				a.target = m.Params[0]
			}
			if len(m.Params) > 1 {
				a.text = stripFormatting(m.Params[len(m.Params)-1])
			}
			select {
			case o.in <- a:
			default: // never block irc-go's reader
			}
		})
	}
	if err := c.Connect(); err != nil {
		return nil, fmt.Errorf("observer connect to %s: %w", addr, err)
	}
	o.conn = c
	return o, nil
}

func (o *ircObserver) close() { o.conn.Quit() }

func (o *ircObserver) nick() string { return o.conn.CurrentNick() }

// join joins channel and waits for the server's confirmation.
func (o *ircObserver) join(ctx context.Context, channel string) error {
	if err := o.conn.Join(channel); err != nil {
		return fmt.Errorf("observer join %s: %w", channel, err)
	}
	_, err := o.next(ctx, func(a arrival) bool {
		return a.kind == "JOIN" && strings.EqualFold(a.from, o.nick()) && strings.EqualFold(a.target, channel)
	})
	return err
}

// next returns the next arrival for which match holds, dropping others.
func (o *ircObserver) next(ctx context.Context, match func(arrival) bool) (arrival, error) {
	for {
		select {
		case a := <-o.in:
			if match(a) {
				return a, nil
			}
		case <-ctx.Done():
			return arrival{}, ctx.Err()
		}
	}
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
func (o *ircObserver) drain() {
	for {
		select {
		case <-o.in:
		default:
			return
		}
	}
}
