// SPDX-License-Identifier: GPL-3.0-or-later

// Sending: one message posted as one event, at most once per key, to a
// room resolved from its configured ID or alias.

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
)

// Send posts one message as one event (see Render: m.text when it
// highlights someone, m.notice otherwise) and returns its event ID. A
// message whose key was already accepted is not posted again: the recorded
// event ID is returned. While the homeserver is unreachable it returns an
// error and sends nothing; rate limits and 5xx answers are retried,
// honouring Retry-After.
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
	t.sendMu.Lock()
	defer t.sendMu.Unlock()
	txn := TxnID(out)
	if ev, err := st.sentEvent(ctx, txn); err != nil {
		t.sendErrors.Add(1)
		return "", err
	} else if ev != "" {
		return ev, nil
	}
	rid, err := t.roomFor(ctx, cli, out)
	if err != nil {
		t.sendErrors.Add(1)
		return "", err
	}
	resp, err := cli.SendMessageEvent(ctx, rid, event.EventMessage, Render(out), mautrix.ReqSendEvent{TransactionID: txn})
	if err != nil {
		t.sendErrors.Add(1)
		return "", fmt.Errorf("failed to send to %s: %w", rid, err)
	}
	t.sent.Add(1)
	if err := st.recordSent(ctx, txn, string(rid), string(resp.EventID), t.opts.Now().Unix()); err != nil {
		t.log.Warn("failed to record a sent message", "err", err)
	}
	return string(resp.EventID), nil
}

// roomFor finds the room ID of a message's target (a configured ID or alias,
// or a room ID), resolving aliases once.
func (t *Transport) roomFor(ctx context.Context, cli *mautrix.Client, out chat.Outgoing) (id.RoomID, error) {
	target := out.Target
	if target == "" {
		target = strings.TrimPrefix(out.Channel, Name+":")
	}
	t.mu.Lock()
	rid, ok := t.resolved[target]
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
