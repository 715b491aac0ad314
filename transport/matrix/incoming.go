// SPDX-License-Identifier: GPL-3.0-or-later

// Incoming messages: commands (m.text in configured rooms) go to the core
// with the thread they are in, edits with the message they correct, and
// redactions of earlier messages, so the core can drop a command not yet
// served.

package matrix

import (
	"context"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// onMessage hands m.text messages in configured rooms to the inbox. It never
// panics into the syncer (a panic would stop sync).
func (t *Transport) onMessage(in transport.Inbox) mautrix.EventHandler {
	return func(ctx context.Context, evt *event.Event) {
		defer func() {
			if r := recover(); r != nil {
				t.log.Error("panic while handling a message", "event_id", evt.ID, "panic", r)
			}
		}()
		// The first sync after login brings history too: incoming
		// drops what is older than the start, so a command sent while
		// the bot was joining its rooms is still answered.
		msg, ok := t.incoming(evt)
		if ok && !t.batch.dropped(evt.ID) { // else withdrawn or corrected in the same sync: its redaction or edit follows
			in.Receive(ctx, msg)
		}
	}
}

// onRedaction tells the core that a message in a configured room was
// withdrawn, so a command it has not started is dropped.
func (t *Transport) onRedaction(in transport.Inbox) mautrix.EventHandler {
	return func(ctx context.Context, evt *event.Event) {
		t.mu.Lock()
		ch, known := t.rooms[evt.RoomID]
		self := t.userID
		t.mu.Unlock()
		target := redactedID(evt)
		if !known || evt.Sender == self || target == "" {
			return
		}
		o, seen := t.recent.get(target)
		if !seen {
			return // not a message the core was given
		}
		if o.original != "" {
			target = o.original // the core knows a command by its first message
		}
		in.Receive(ctx, chat.Incoming{
			Channel: ch,
			Target:  string(evt.RoomID),
			Sender:  sender(evt.Sender),
			ID:      string(evt.ID),
			Redacts: string(target),
		})
	}
}

// redactedID returns the event a redaction withdraws (in its content as
// of room version 11, at the top level before).
func redactedID(evt *event.Event) id.EventID {
	if c, ok := evt.Content.Parsed.(*event.RedactionEventContent); ok && c.Redacts != "" {
		return c.Redacts
	}
	return evt.Redacts
}

func sender(u id.UserID) chat.Identity {
	return chat.Identity{Network: Name, Account: string(u), Nick: string(u), Kind: "Matrix user"}
}

// incoming converts an event to a chat.Incoming, or reports false for events
// that are not commands: own events, notices, old events, events in rooms
// that are not configured, and edits of messages from before the start
// (or long forgotten: a command served then must not be done again).
func (t *Transport) incoming(evt *event.Event) (chat.Incoming, bool) {
	t.mu.Lock()
	self, startMs := t.userID, t.startMs
	ch, known := t.rooms[evt.RoomID]
	t.mu.Unlock()
	if !known || evt.Sender == self || evt.Timestamp < startMs {
		return chat.Incoming{}, false
	}
	content, ok := evt.Content.Parsed.(*event.MessageEventContent)
	if !ok {
		return chat.Incoming{}, false
	}
	o := origin{thread: threadOf(content), replyTo: string(content.RelatesTo.GetNonFallbackReplyTo())}
	if o.replyTo == "" && o.thread != "" {
		o.replyTo = string(o.thread) // in a thread: about what its root is about
	}
	var edits string
	if orig := content.RelatesTo.GetReplaceID(); orig != "" {
		first, seen := t.recent.get(orig)
		if !seen || content.NewContent == nil {
			return chat.Incoming{}, false
		}
		for first.original != "" { // an edit of an edit: the first message
			orig = first.original
			if first, seen = t.recent.get(orig); !seen {
				return chat.Incoming{}, false
			}
		}
		o = origin{thread: first.thread, replyTo: first.replyTo, original: orig}
		edits = string(orig)
		content = content.NewContent
	}
	if content.MsgType != event.MsgText {
		return chat.Incoming{}, false
	}
	content.RemoveReplyFallback()
	t.recent.put(evt.ID, o)
	return chat.Incoming{
		Channel: ch,
		Target:  string(evt.RoomID),
		Sender:  sender(evt.Sender),
		Text:    chat.Sanitize(content.Body),
		ID:      string(evt.ID),
		ReplyTo: o.replyTo,
		Edits:   edits,
	}, true
}

// syncBatch holds what one sync response withdraws or corrects, read
// before its events are handed on: a command and its redaction (or edit)
// in the same response never reach the core as two commands. Used on the
// sync goroutine only.
type syncBatch struct {
	drop map[id.EventID]bool
}

// scan notes the redactions and edits of a sync response's timelines.
func (b *syncBatch) scan(resp *mautrix.RespSync) {
	b.drop = map[id.EventID]bool{}
	for _, room := range resp.Rooms.Join {
		for _, evt := range room.Timeline.Events {
			if evt.Type == event.EventRedaction {
				if r := evt.Redacts; r != "" {
					b.drop[r] = true
				} else if r, _ := evt.Content.Raw["redacts"].(string); r != "" {
					b.drop[id.EventID(r)] = true
				}
				continue
			}
			// m.relates_to stays in clear in encrypted events.
			rel, _ := evt.Content.Raw["m.relates_to"].(map[string]any)
			if rel["rel_type"] == string(event.RelReplace) {
				if orig, _ := rel["event_id"].(string); orig != "" {
					b.drop[id.EventID(orig)] = true
				}
			}
		}
	}
}

// dropped reports whether ev is withdrawn or corrected in this response.
func (b *syncBatch) dropped(ev id.EventID) bool { return b.drop[ev] }
