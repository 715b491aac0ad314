// SPDX-License-Identifier: GPL-3.0-or-later

// Kicks and bans: a configured room the bot is removed from is reported
// to the core (transport.Alerts: every private channel of every network
// is told once) and joined again with backoff where the room lets it (the
// join loop); an invite to it clears the backoff (handleInvite), and the
// join reports the room back (roomJoined).

package matrix

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// onLeave handles the rooms a sync response says the bot is no longer in.
// Leaving by itself (a reload removed the room) is not trouble.
func (t *Transport) onLeave(ctx context.Context, resp *mautrix.RespSync) {
	t.mu.Lock()
	self := t.userID
	t.mu.Unlock()
	for rid, room := range resp.Rooms.Leave {
		evt := lastMembership(self, room.State.Events, room.Timeline.Events)
		if evt == nil || evt.Sender == self {
			continue
		}
		t.removed(ctx, rid, evt)
	}
}

// lastMembership returns the last m.room.member event about user in the
// given event lists, or nil.
func lastMembership(user id.UserID, lists ...[]*event.Event) *event.Event {
	var last *event.Event
	for _, evts := range lists {
		for _, e := range evts {
			if e.Type == event.StateMember && e.GetStateKey() == string(user) {
				last = e
			}
		}
	}
	return last
}

// removed takes room rid out of the joined rooms after someone else
// removed the bot (evt: its kick or ban), tells the core and schedules
// the first attempt to join again.
func (t *Transport) removed(ctx context.Context, rid id.RoomID, evt *event.Event) {
	now := t.opts.Now()
	t.mu.Lock()
	ch, ok := t.rooms[rid]
	if ok {
		delete(t.rooms, rid)
		delete(t.roomsOK, ch.Name)
		t.joinRetries[ch.Name] = &joinRetry{next: now.Add(t.opts.JoinRetryMin)}
	}
	a := t.alerts
	t.mu.Unlock()
	if !ok {
		return
	}
	_ = evt.Content.ParseRaw(evt.Type) // a leave event may come unparsed
	m := evt.Content.AsMember()
	what, fix := "kicked", "it joins again by itself when the room lets anyone join; otherwise invite it again"
	if m.Membership == event.MembershipBan {
		what, fix = "banned", "unban it and invite it again"
	}
	problem := fmt.Sprintf("%s by %s", what, evt.Sender)
	if m.Reason != "" {
		problem += fmt.Sprintf(" (%q)", chat.Clean(m.Reason, 120))
	}
	t.log.Warn("removed from a configured room", "room", ch.Name, "room_id", rid, "by", evt.Sender, "membership", m.Membership, "reason", m.Reason)
	if a != nil {
		a.ChannelTrouble(ctx, ch, chat.Clean(problem+"; "+fix, 300))
	}
	t.kickJoins()
}
