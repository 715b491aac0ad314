// SPDX-License-Identifier: GPL-3.0-or-later

// What each sync brings: the connected state and its backoff on failures,
// the bot's own sends recorded, invites accepted or rejected, decryption
// failures counted, and commands handed to the inbox.

package matrix

import (
	"context"
	"errors"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/internal/backoff"
)

// allJoined reports whether every configured room is joined.
func (t *Transport) allJoined() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.rooms) >= len(t.channels)
}

// syncer marks the transport connected or not and backs off on failures.
type syncer struct {
	*mautrix.DefaultSyncer
	t        *Transport
	failures int
}

// OnFailedSync implements mautrix.Syncer.
func (s *syncer) OnFailedSync(_ *mautrix.RespSync, err error) (time.Duration, error) {
	s.t.connected.Store(false)
	if errors.Is(err, mautrix.MUnknownToken) {
		return 0, err
	}
	d := backoff.Delay(s.failures, s.t.opts.RetryMin, s.t.opts.RetryMax, nil)
	s.failures++
	s.t.log.Debug("sync failed", "err", err, "retry_in", d)
	return d, nil
}

// onSync runs first on every sync response: it marks the transport
// connected, handles invites and wakes the join loop when a room is
// missing (the loop decides whether its backoff allows an attempt).
func (t *Transport) onSync(cli *mautrix.Client) mautrix.SyncHandler {
	return func(ctx context.Context, resp *mautrix.RespSync, _ string) bool {
		if s, ok := cli.Syncer.(*syncer); ok {
			s.failures = 0
		}
		t.recordOwnSends(ctx, cli, resp)
		t.batch.scan(resp)
		t.mu.Lock()
		rc := t.crypt
		t.mu.Unlock()
		if rc != nil && len(resp.DeviceLists.Changed) > 0 {
			rc.rotateOnDeviceChange(ctx, resp.DeviceLists.Changed)
		}
		t.connected.Store(true)
		t.onLeave(ctx, resp)
		t.onTombstones(ctx, resp)
		for rid, room := range resp.Rooms.Invite {
			t.handleInvite(ctx, cli, rid, room)
		}
		if !t.allJoined() {
			t.kickJoins()
		}
		return true
	}
}

// recordOwnSends records the bot's own events that come back in a sync with
// our transaction ID as sent. A send cut short by a crash may be stored by
// the homeserver without its transaction ID being remembered (Dendrite caches
// it only once the PUT completes), so the first sync after a restart is what
// keeps the outbox from sending that message a second time. It runs before
// the transport is marked connected, so before the deliverer resumes.
func (t *Transport) recordOwnSends(ctx context.Context, cli *mautrix.Client, resp *mautrix.RespSync) {
	t.mu.Lock()
	st := t.st
	t.mu.Unlock()
	if st == nil {
		return
	}
	for rid, room := range resp.Rooms.Join {
		for _, evt := range room.Timeline.Events {
			txn := evt.Unsigned.TransactionID
			if evt.Sender != cli.UserID || !strings.HasPrefix(txn, "ksecbot-") {
				continue
			}
			if err := st.recordSent(ctx, txn, string(rid), string(evt.ID), t.opts.Now().Unix()); err != nil {
				t.log.Warn("failed to record a sent message", "err", err)
			}
		}
	}
}

// handleInvite accepts an invite to a configured room or from an admin
// ([matrix] admins) and rejects every other, so no invite is left pending.
// In a room it joined only because an admin asked, it says once what it
// is and that it serves only its configured rooms.
func (t *Transport) handleInvite(ctx context.Context, cli *mautrix.Client, rid id.RoomID, room *mautrix.SyncInvitedRoom) {
	if _, busy := t.invites.LoadOrStore(rid, struct{}{}); busy {
		return
	}
	var inviter id.UserID
	var alias string
	for _, evt := range room.State.Events {
		switch {
		case evt.Type == event.StateMember && evt.GetStateKey() == string(cli.UserID):
			inviter = evt.Sender
		case evt.Type == event.StateCanonicalAlias:
			if a, ok := evt.Content.Raw["alias"].(string); ok {
				alias = a
			}
		}
	}
	configured := len(t.inviteNames(rid, alias)) > 0
	accept := configured || t.admins[inviter]
	go func() {
		defer t.invites.Delete(rid)
		if accept {
			if _, err := cli.JoinRoomByID(ctx, rid); err != nil {
				t.log.Warn("failed to accept invite", "room_id", rid, "inviter", inviter, "err", err)
				return
			}
			t.log.Info("accepted invite", "room_id", rid, "inviter", inviter, "configured", configured)
			if !configured {
				t.sayUnlisted(ctx, rid)
			}
			t.joinNow(t.inviteNames(rid, alias)...)
			return
		}
		if _, err := cli.LeaveRoom(ctx, rid); err != nil {
			t.log.Warn("failed to reject invite", "room_id", rid, "inviter", inviter, "err", err)
			return
		}
		t.log.Info("rejected invite to an unconfigured room", "room_id", rid, "inviter", inviter)
	}()
}

// onDecryptError counts every failure and logs it once per megolm session.
func (t *Transport) onDecryptError(evt *event.Event, err error) {
	t.mu.Lock()
	startMs := t.startMs
	t.mu.Unlock()
	if errors.Is(err, context.Canceled) || evt.Timestamp < startMs {
		return // stopping (the event comes again), or history from before the start (a new device cannot read it)
	}
	t.decryptErrors.Add(1)
	session := string(evt.RoomID)
	if c, ok := evt.Content.Parsed.(*event.EncryptedEventContent); ok && c.SessionID != "" {
		session = string(c.SessionID)
	}
	if _, seen := t.decryptSeen.LoadOrStore(session, struct{}{}); seen {
		return
	}
	t.log.Warn("cannot decrypt event", "room_id", evt.RoomID, "event_id", evt.ID,
		"sender", evt.Sender, "session", session, "reason", err)
}

// sayUnlisted tells an unlisted room an admin invited the bot into what
// the bot is for and that it stays quiet there (once: the message's key
// makes its transaction ID).
func (t *Transport) sayUnlisted(ctx context.Context, rid id.RoomID) {
	out := chat.Outgoing{
		Key:    "unlisted/" + string(rid),
		Kind:   chat.KindSystem,
		Target: string(rid),
		Lines: []chat.Line{chat.Line{}.Text("ksecbot announces kernel security bugs from Bugzilla and answers commands only in the rooms its configuration lists; " +
			"this room is not one of them, so it stays quiet here. To use it here, add ").Code(string(rid)).Text(" to [[matrix.room]] in ksecbot's configuration.")},
	}
	if _, err := t.Send(ctx, out); err != nil {
		t.log.Warn("failed to greet an unlisted room", "room_id", rid, "err", err)
	}
}
