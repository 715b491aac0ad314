// SPDX-License-Identifier: GPL-3.0-or-later

// Sending: one message posted as one event, at most once per key, to a
// room resolved from its configured ID or alias, through that room's own
// queue.

package matrix

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/transport"
)

// Send posts one message as one event (see Render: m.text when it
// highlights someone, m.notice otherwise) and returns its event ID. A
// message whose key was already accepted is not posted again: the recorded
// event ID is returned. While the homeserver is unreachable it returns an
// error and sends nothing.
//
// Each room has its own queue, so a room the homeserver rate-limits
// delays only its own messages. A reply waits out a rate limit (and 5xx
// answers) in its room's queue, honouring Retry-After; other messages
// (announcements, from the core's outbox, which sends one message at a
// time) are tried once and fail at once while their room is rate-limited,
// so the outbox goes on with the other rooms and comes back to this one.
func (t *Transport) Send(ctx context.Context, out chat.Outgoing) (string, error) {
	t.mu.Lock()
	cli, st := t.cli, t.st
	t.mu.Unlock()
	if cli == nil || st == nil || !t.Connected() {
		t.sendErrors.Add(1)
		return "", ErrNotConnected
	}
	if len(out.Lines) == 0 {
		return "", errors.New("matrix: message has no lines")
	}
	rid, err := t.roomFor(ctx, cli, out)
	if err != nil {
		t.sendErrors.Add(1)
		return "", err
	}
	if name, out := t.outOfRoom(out, rid); out {
		// Kicked, banned or not joined yet: reported as channel trouble
		// by the join loop, not as a room refusing lines.
		t.sendErrors.Add(1)
		return "", fmt.Errorf("matrix: the bot is not in room %s now; it keeps trying to join", name)
	}
	q := t.queue(rid)
	waits := out.Kind == chat.KindReply
	if err := q.acquire(ctx, waits, t.opts.Now()); err != nil {
		t.sendErrors.Add(1)
		return "", err
	}
	defer q.release()
	if transport.Expired(out, t.opts.Now()) {
		return "", transport.ErrExpired // waited too long for its room
	}
	ev, err := t.post(ctx, cli, st, rid, out, waits)
	if err != nil {
		t.sendErrors.Add(1)
		return "", err
	}
	t.sendNotes(ctx, cli, st, rid)
	return ev, nil
}

// outOfRoom reports whether out is for a configured room the bot is not
// in now (rid its room ID), and the room's configured name.
func (t *Transport) outOfRoom(out chat.Outgoing, rid id.RoomID) (string, bool) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, Name+":")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	_, configured := t.byName[target]
	_, in := t.rooms[rid]
	return target, configured && !in
}

// post sends out to rid unless its key was sent already; the caller holds
// rid's queue. Without retries a failed request is not tried again here.
func (t *Transport) post(ctx context.Context, cli *mautrix.Client, st *state, rid id.RoomID, out chat.Outgoing, retries bool) (string, error) {
	txn := TxnID(out)
	if ev, err := st.sentEvent(ctx, txn); err != nil {
		return "", err
	} else if ev != "" {
		return ev, nil
	}
	if !retries {
		ctx = mautrix.WithMaxRetries(ctx, 0)
	}
	if t.cfg.Encryption {
		if err := t.knowEncryption(ctx, cli, rid); err != nil {
			return "", err
		}
	}
	content := Render(out, t.quietFor(ctx, cli, rid, out))
	t.threadReply(content, out.ReplyTo)
	resp, err := cli.SendMessageEvent(ctx, rid, event.EventMessage, content, mautrix.ReqSendEvent{TransactionID: txn})
	if err != nil {
		if errors.Is(err, mautrix.MLimitExceeded) {
			return "", &RateLimitedError{Room: string(rid), Err: err}
		}
		if errors.Is(err, mautrix.MForbidden) {
			// a power level too low, or not in the room: the room refuses
			return "", fmt.Errorf("failed to send to %s: %w: %w", rid, transport.ErrRefused, err)
		}
		return "", fmt.Errorf("failed to send to %s: %w", rid, err)
	}
	t.sent.Add(1)
	if err := st.recordSent(ctx, txn, string(rid), string(resp.EventID), t.opts.Now().Unix()); err != nil {
		t.log.Warn("failed to record a sent message", "err", err)
	}
	return string(resp.EventID), nil
}

// sendNotes posts the notes queued for rid while its message was
// encrypted (devices left out of its room key); the caller holds rid's
// queue. A note that fails is queued again for the room's next message.
func (t *Transport) sendNotes(ctx context.Context, cli *mautrix.Client, st *state, rid id.RoomID) {
	t.mu.Lock()
	rc := t.crypt
	t.mu.Unlock()
	if rc == nil {
		return
	}
	notes := rc.takeNotes(rid)
	for i, n := range notes {
		if _, err := t.post(ctx, cli, st, rid, n, false); err != nil {
			t.log.Warn("failed to post a note about a device left out, will retry with the room's next message", "room_id", rid, "err", err)
			rc.requeue(rid, notes[i:])
			return
		}
	}
}

// RateLimitedError is returned by Send for a message that was not posted
// because the homeserver rate-limits its room (429 M_LIMIT_EXCEEDED).
type RateLimitedError struct {
	Room string
	Err  error
}

// Error says which room and why.
func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("the homeserver rate-limits room %s: %v", e.Room, e.Err)
}

// Unwrap returns the cause (mautrix.MLimitExceeded matches it).
func (e *RateLimitedError) Unwrap() error { return e.Err }

// roomFor finds the room ID of a message's target (a configured ID or alias,
// or a room ID), resolving aliases once.
func (t *Transport) roomFor(ctx context.Context, cli *mautrix.Client, out chat.Outgoing) (id.RoomID, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, Name+":")
	}
	t.mu.Lock()
	rid, ok := t.resolved[target]
	if f, moved := t.follows[target]; moved && !ok {
		rid, ok = f.room, true // upgraded, not joined yet in this run
	}
	t.mu.Unlock()
	if ok {
		return rid, nil
	}
	switch {
	case strings.HasPrefix(target, "!"):
		return id.RoomID(target), nil
	case strings.HasPrefix(target, "#"):
		resp, err := cli.ResolveAlias(ctx, id.RoomAlias(target))
		if err != nil {
			return "", fmt.Errorf("failed to resolve %s: %w", target, err)
		}
		t.mu.Lock()
		t.resolved[target] = resp.RoomID
		t.mu.Unlock()
		return resp.RoomID, nil
	}
	return "", fmt.Errorf("matrix: target %q is not a room ID or alias", target)
}
