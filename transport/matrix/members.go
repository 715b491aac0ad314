// SPDX-License-Identifier: GPL-3.0-or-later

// Who is in each room, from the client's state store (kept by the sync):
// the display names and user names that the text of a message there must
// not contain as words, for homeservers and clients that still highlight
// names found in the body.

package matrix

import (
	"context"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// roomMention is what the legacy push rule .m.rule.roomnotif looks for in
// a body to notify the whole room (when the sender may): text never does.
const roomMention = "@room"

// quietFor returns the names a message to room rid must not contain as
// words: "@room", the display name and the user name (localpart) of every joined
// member, and the user names of the handles the core listed (the
// maintainers; Outgoing.Quiet). Without a state store (or when it fails)
// only the latter: the message still goes out.
func (t *Transport) quietFor(ctx context.Context, cli *mautrix.Client, rid id.RoomID, out chat.Outgoing) *chat.Names {
	names := chat.NewNames(nil, roomMention)
	for _, h := range out.Quiet[Name] {
		if local, _, err := id.UserID(h).Parse(); err == nil {
			names.Add(local)
		}
	}
	if cli.StateStore == nil {
		return names
	}
	members, err := cli.StateStore.GetAllMembers(ctx, rid)
	if err != nil {
		t.log.Warn("cannot read the room's members; only maintainers' names are kept from pinging", "room_id", rid, "err", err)
		return names
	}
	for uid, m := range members {
		if m == nil || m.Membership != event.MembershipJoin {
			continue
		}
		if local, _, err := uid.Parse(); err == nil {
			names.Add(local)
		}
		names.Add(chat.Sanitize(m.Displayname))
	}
	return names
}
