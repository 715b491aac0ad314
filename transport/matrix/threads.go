// SPDX-License-Identifier: GPL-3.0-or-later

// Threads and edits: the bot remembers the recent messages it handed to
// the core (where each sat: in a thread or not, what it replied to), so a
// reply goes into the thread its command came from, and a reply to an
// edited command points at the message people see (the original, shown
// with its new text).

package matrix

import (
	"sync"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// recentLimit bounds the messages remembered; a reply comes within
// minutes of its command, an edit usually too.
const recentLimit = 4096

// origin is what the transport remembers of a message it received.
type origin struct {
	thread   id.EventID // the thread's root, or ""
	replyTo  string     // the message it replied to (chat.Incoming.ReplyTo)
	original id.EventID // for an edit: the message it edits
}

// recentMessages remembers origins by event ID, forgetting the oldest
// beyond recentLimit. Safe for concurrent use.
type recentMessages struct {
	mu    sync.Mutex
	byID  map[id.EventID]origin
	order []id.EventID // oldest first
}

func (r *recentMessages) put(ev id.EventID, o origin) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byID == nil {
		r.byID = map[id.EventID]origin{}
	}
	if _, ok := r.byID[ev]; !ok {
		r.order = append(r.order, ev)
	}
	r.byID[ev] = o
	if len(r.order) > recentLimit {
		delete(r.byID, r.order[0])
		r.order = r.order[1:]
	}
}

func (r *recentMessages) get(ev id.EventID) (origin, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o, ok := r.byID[ev]
	return o, ok
}

// threadOf returns the root of the thread a message is in, or "".
func threadOf(c *event.MessageEventContent) id.EventID {
	if c.RelatesTo != nil && c.RelatesTo.Type == event.RelThread {
		return c.RelatesTo.EventID
	}
	return ""
}

// threadReply makes content, a reply to replyTo, go where replyTo is: into
// its thread (a thread reply that also names replyTo, for clients without
// threads), and to the original message when replyTo is an edit.
func (t *Transport) threadReply(content *event.MessageEventContent, replyTo string) {
	if replyTo == "" {
		return
	}
	o, ok := t.recent.get(id.EventID(replyTo))
	if !ok {
		return
	}
	target := id.EventID(replyTo)
	if o.original != "" {
		target = o.original
	}
	if o.thread == "" {
		content.RelatesTo = &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: target}}
		return
	}
	content.RelatesTo = &event.RelatesTo{
		Type:          event.RelThread,
		EventID:       o.thread,
		InReplyTo:     &event.InReplyTo{EventID: target},
		IsFallingBack: false,
	}
}
