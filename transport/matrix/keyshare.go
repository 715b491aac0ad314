// SPDX-License-Identifier: GPL-3.0-or-later

// Who gets the room keys ([matrix] share_keys): in the private rooms,
// where embargoed details go, only devices their owners have cross-signed
// (unless share_keys = "all"); in the other rooms every device. The room
// is told once about each member's device that was left out.

package matrix

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// roomCrypto is the client's crypto helper with the sharing of room keys
// decided per room. mautrix reads the minimum trust for sharing from one
// field of the machine (SendKeysMinTrust), so every share goes through
// share, which sets the field under shareMu; the key request handler,
// the field's only other reader, is replaced (allowKeyShare). Safe for
// concurrent use.
type roomCrypto struct {
	*cryptohelper.CryptoHelper
	t       *Transport
	shareMu sync.Mutex // one session share at a time: SendKeysMinTrust is per share

	mu      sync.Mutex
	pending map[id.RoomID][]chat.Outgoing // notes about devices left out, sent after the room's next message
	renew   map[id.RoomID]bool            // rooms whose next message must use a new room key (rekey)
}

var _ mautrix.CryptoHelper = (*roomCrypto)(nil)

func newRoomCrypto(h *cryptohelper.CryptoHelper, t *Transport) *roomCrypto {
	c := &roomCrypto{CryptoHelper: h, t: t, pending: map[id.RoomID][]chat.Outgoing{}, renew: map[id.RoomID]bool{}}
	h.Machine().AllowKeyShare = c.allowKeyShare
	return c
}

// Encrypt implements mautrix.CryptoHelper: it shares a new room key when
// the room has none (with the devices the room's policy allows), then
// encrypts.
func (c *roomCrypto) Encrypt(ctx context.Context, roomID id.RoomID, evtType event.Type, content any) (*event.EncryptedEventContent, error) {
	mach := c.Machine()
	c.mu.Lock()
	renew := c.renew[roomID]
	delete(c.renew, roomID)
	c.mu.Unlock()
	if renew {
		c.dropRoomKey(ctx, roomID)
	}
	for attempt := 0; ; attempt++ {
		enc, err := mach.EncryptMegolmEvent(ctx, roomID, evtType, content)
		if err == nil || attempt == 2 || !(errors.Is(err, crypto.ErrSessionExpired) || errors.Is(err, crypto.ErrNoGroupSession) || errors.Is(err, crypto.ErrSessionNotShared)) {
			return enc, err
		}
		// No usable session (new room, members or devices changed, or
		// rotation): share a new one and encrypt again.
		if err := c.share(ctx, roomID); err != nil {
			return nil, err
		}
	}
}

// share shares a new room key of roomID with its members' devices that
// the room's policy allows, and queues a note for each device left out.
func (c *roomCrypto) share(ctx context.Context, roomID id.RoomID) error {
	mach := c.Machine()
	store := mach.Client.StateStore
	if fetched, err := store.HasFetchedMembers(ctx, roomID); err == nil && !fetched {
		// Right after a join the sync that brings the members may not
		// be handled yet: ask the homeserver, so no member is left out.
		if _, err := mach.Client.Members(ctx, roomID); err != nil {
			return fmt.Errorf("failed to get the room's members: %w", err)
		}
		if err := store.MarkMembersFetched(ctx, roomID); err != nil {
			c.t.log.Warn("failed to record the room's members as fetched", "room_id", roomID, "err", err)
		}
	}
	users, err := store.GetRoomJoinedOrInvitedMembers(ctx, roomID)
	if err != nil {
		return fmt.Errorf("failed to get the room's members: %w", err)
	}
	minTrust := c.t.minTrust(roomID)
	c.shareMu.Lock()
	mach.SendKeysMinTrust = minTrust
	err = mach.ShareGroupSession(ctx, roomID, users)
	c.shareMu.Unlock()
	if err != nil {
		return fmt.Errorf("failed to share the room key: %w", err)
	}
	if minTrust > id.TrustStateUnset {
		c.noteLeftOut(ctx, roomID, users, minTrust)
	}
	return nil
}

// noteLeftOut queues, for each member's device below minTrust, a note for
// the room. Its key names the room, the user and the device, so each is
// told once (Send records the keys it posted).
func (c *roomCrypto) noteLeftOut(ctx context.Context, roomID id.RoomID, users []id.UserID, minTrust id.TrustState) {
	mach := c.Machine()
	var notes []chat.Outgoing
	for _, u := range users {
		if u == mach.Client.UserID {
			continue
		}
		devices, err := mach.CryptoStore.GetDevices(ctx, u)
		if err != nil {
			c.t.log.Warn("failed to read a member's devices", "user", u, "err", err)
			continue
		}
		for _, d := range devices {
			trust, _ := mach.ResolveTrustContext(ctx, d)
			if trust >= minTrust || trust == id.TrustStateBlacklisted {
				continue
			}
			c.t.log.Info("room key not shared with a device its owner has not verified", "room_id", roomID, "user", u, "device_id", d.DeviceID, "trust", trust.String())
			notes = append(notes, leftOutNote(roomID, d))
		}
	}
	if len(notes) > 0 {
		c.mu.Lock()
		c.pending[roomID] = append(c.pending[roomID], notes...)
		c.mu.Unlock()
	}
}

// leftOutNote is the room's note about one device left out.
func leftOutNote(roomID id.RoomID, d *id.Device) chat.Outgoing {
	name := string(d.DeviceID)
	if d.Name != "" {
		name += " (" + d.Name + ")"
	}
	return chat.Outgoing{
		Key:    "unverified/" + string(roomID) + "/" + string(d.UserID) + "/" + string(d.DeviceID),
		Kind:   chat.KindSystem,
		Target: string(roomID),
		Lines: []chat.Line{chat.Line{}.Text("Not sending this room's keys to ").Code(string(d.UserID)).Text("'s device ").Quote(name).
			Text(": its owner has not verified it (cross-signing), so it cannot read what ksecbot says here. Verify it from another of your sessions.")},
	}
}

// requeue puts notes that could not be posted back in front of roomID's
// queue.
func (c *roomCrypto) requeue(roomID id.RoomID, notes []chat.Outgoing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending[roomID] = append(append([]chat.Outgoing(nil), notes...), c.pending[roomID]...)
}

// takeNotes returns and forgets the notes queued for roomID.
func (c *roomCrypto) takeNotes(roomID id.RoomID) []chat.Outgoing {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.pending[roomID]
	delete(c.pending, roomID)
	return n
}

// allowKeyShare answers another device's request for one of the bot's
// room keys: only a device the key was shared with gets it again, so a
// request cannot bypass share_keys.
func (c *roomCrypto) allowKeyShare(ctx context.Context, device *id.Device, info event.RequestedKeyInfo) *crypto.KeyShareRejection {
	if device.Trust == id.TrustStateBlacklisted {
		return &crypto.KeyShareRejectBlacklisted
	}
	shared, err := c.Machine().CryptoStore.IsOutboundGroupSessionShared(ctx, device.UserID, device.IdentityKey, info.SessionID)
	if err != nil {
		return &crypto.KeyShareRejectNoResponse
	}
	if !shared {
		return &crypto.KeyShareRejectNotRecipient
	}
	return nil
}

// rotateOnDeviceChange drops the room key of the private rooms that a
// user whose devices changed is in: mautrix makes a new key only when a
// device comes or goes, but a device its owner has just verified must get
// the next key too.
func (c *roomCrypto) rotateOnDeviceChange(ctx context.Context, users []id.UserID) {
	mach := c.Machine()
	for _, u := range users {
		rooms, err := mach.StateStore.FindSharedRooms(ctx, u)
		if err != nil {
			continue
		}
		for _, r := range rooms {
			if c.t.minTrust(r) == id.TrustStateUnset {
				continue
			}
			c.dropRoomKey(ctx, r)
		}
	}
}

// rekey makes the next message in roomID use a new room key, shared as
// the room's policy says then (Encrypt runs in the room's send queue, so
// no message after this call uses the old key).
func (c *roomCrypto) rekey(roomID id.RoomID) {
	c.mu.Lock()
	c.renew[roomID] = true
	c.mu.Unlock()
}

// dropRoomKey makes the next message in roomID share a new room key.
func (c *roomCrypto) dropRoomKey(ctx context.Context, roomID id.RoomID) {
	if err := c.Machine().CryptoStore.RemoveOutboundGroupSession(ctx, roomID); err != nil {
		c.t.log.Warn("failed to drop a room key; the next message may still use the old one", "room_id", roomID, "err", err)
	}
}

// minTrust is the trust a device needs to get roomID's keys: cross-signed
// by its owner in a private room (unless share_keys = "all"), anything in
// a configured public room. A room the bot does not know as a configured
// public room counts as private.
func (t *Transport) minTrust(roomID id.RoomID) id.TrustState {
	if t.cfg.ShareKeys == ShareKeysAll {
		return id.TrustStateUnset
	}
	t.mu.Lock()
	ch, ok := t.rooms[roomID]
	t.mu.Unlock()
	if ok && !ch.Private {
		return id.TrustStateUnset
	}
	return id.TrustStateCrossSignedTOFU
}

// knowEncryption makes sure the state store knows whether rid is
// encrypted before anything is sent there: a room whose state the bot has
// not synced yet would otherwise get plain text. It reads the room's
// m.room.encryption from the homeserver once per run for a room the store
// says is not encrypted; when the homeserver cannot say, nothing is sent.
func (t *Transport) knowEncryption(ctx context.Context, cli *mautrix.Client, rid id.RoomID) error {
	if enc, err := cli.StateStore.IsEncrypted(ctx, rid); err == nil && enc {
		return nil
	}
	t.mu.Lock()
	checked := t.plainChecked[rid]
	t.mu.Unlock()
	if checked {
		return nil
	}
	var content event.EncryptionEventContent
	err := cli.StateEvent(ctx, rid, event.StateEncryption, "", &content)
	switch {
	case err == nil && content.Algorithm != "":
		if err := cli.StateStore.SetEncryptionEvent(ctx, rid, &content); err != nil {
			return fmt.Errorf("failed to record that %s is encrypted: %w", rid, err)
		}
	case err != nil && !errors.Is(err, mautrix.MNotFound):
		return fmt.Errorf("failed to learn whether %s is encrypted: %w", rid, err)
	}
	t.mu.Lock()
	t.plainChecked[rid] = true
	t.mu.Unlock()
	return nil
}
