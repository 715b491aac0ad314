// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/ksecbot/ksecbot/chat"
)

// Path says how an incoming message must be served.
type Path int

const (
	// PathNone: nothing to do (ordinary chat, the bot's own message).
	PathNone Path = iota
	// PathRead: a command or preview answered from the mirror and the
	// configuration, quickly; it never waits for a Bugzilla write.
	PathRead
	// PathWrite: a command that changes Bugzilla (Command.Write); it may
	// wait for Bugzilla.
	PathWrite
)

// Admission is the router's verdict on a message when it arrives.
type Admission struct {
	Path Path
	// Command: the message is a command (else a bug-link preview).
	Command bool
	// Limited: the sender is over the per-user command limit; the
	// message must not be served.
	Limited bool
	// SlowDown is the reply to send for a Limited command, at most once
	// per sender and SlowDownWindow; nil when the sender was already told.
	SlowDown *chat.Outgoing
	// previews are the bugs a message that is not a command mentions,
	// found once here and answered by Serve.
	previews []int
}

// SlowDownWindow is the shortest time between two "slow down" replies to
// the same sender: a flood gets one, not one per command.
const SlowDownWindow = 30 * time.Second

// Admit classifies an incoming message and applies the per-sender limit
// (per services account, or per host for unidentified IRC users) when it
// arrives, before any queue. It does no I/O and never blocks, so
// transports may call it from their read loop. A message that Admit
// accepts must then be served with Serve, with its Admission. Safe for
// concurrent use.
func (r *Router) Admit(in chat.Incoming) Admission {
	path := PathRead
	var previews []int
	name, _, ok := Parse(r.prefix, in.Text)
	if ok {
		if i, found := r.byName[name]; found && r.cmds[i].Write {
			path = PathWrite
		}
	} else if previews = r.previewIDs(in); len(previews) == 0 {
		return Admission{}
	}
	if r.allow(in) {
		return Admission{Path: path, Command: ok, previews: previews}
	}
	a := Admission{Path: path, Command: ok, Limited: true}
	if ok && r.warnDue(in) {
		msg := r.reply(in, chat.Line{}.Text(fmt.Sprintf(
			"slow down: I answer at most %d commands at once, then one every %s; the others get no answer (I say this once per %s).",
			r.d.RateBurst, shortDuration(r.d.RateEvery), shortDuration(SlowDownWindow))))
		msg.Key += "/slow-down"
		a.SlowDown = &msg
	}
	r.log.Debug("rate limited", "sender", senderKey(in.Sender), "channel", in.Channel.Key, "told", a.SlowDown != nil)
	return a
}

// Handle answers one incoming message: a command, or bug-link previews,
// after Admit (a limited sender gets at most the slow-down reply). It may
// call Bugzilla and the store, so it runs on a worker goroutine, never on
// a transport's read loop. It never panics.
func (r *Router) Handle(ctx context.Context, in chat.Incoming) []chat.Outgoing {
	a := r.Admit(in)
	switch {
	case a.Path == PathNone:
		return nil
	case a.Limited && a.SlowDown != nil:
		return []chat.Outgoing{*a.SlowDown}
	case a.Limited:
		return nil
	}
	return r.Serve(ctx, in, a)
}

// Serve answers a message that Admit accepted, with Admit's verdict: a
// command, or previews of the bugs Admit found (the message is not scanned
// again). It may call Bugzilla and the store, so it runs on a worker
// goroutine. It never panics.
func (r *Router) Serve(ctx context.Context, in chat.Incoming, a Admission) (out []chat.Outgoing) {
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("command handler panicked", "panic", fmt.Sprint(p), "text", in.Text,
				"channel", in.Channel.Key, "stack", string(debug.Stack()))
			out = []chat.Outgoing{r.reply(in, chat.Line{}.Text("Sorry, something went wrong with that command; the operator can find the details in the log."))}
		}
	}()
	if !a.Command {
		return r.previewsFor(ctx, in, a.previews)
	}
	name, args, ok := Parse(r.prefix, in.Text)
	if !ok {
		return nil
	}
	lines := r.dispatch(ctx, in, name, args)
	if len(lines) == 0 {
		return nil
	}
	return []chat.Outgoing{r.reply(in, lines...)}
}

// Reply wraps lines into a reply to in (for the core's own answers:
// "busy", late results).
func (r *Router) Reply(in chat.Incoming, lines ...chat.Line) chat.Outgoing {
	return r.reply(in, lines...)
}

// reply wraps lines into a reply to in.
func (r *Router) reply(in chat.Incoming, lines ...chat.Line) chat.Outgoing {
	key := "reply/"
	if in.ID != "" {
		key += in.ID
	} else {
		key += strconv.FormatInt(r.now().UnixNano(), 36) + "-" + strconv.FormatUint(r.seq.Add(1), 36)
	}
	return chat.Outgoing{
		Key:     key,
		Kind:    chat.KindReply,
		Channel: in.Channel.Key,
		Target:  in.Target,
		Lines:   lines,
		ReplyTo: in.ID,
		Notice:  in.Channel.Notice,
	}
}
