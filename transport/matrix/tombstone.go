// SPDX-License-Identifier: GPL-3.0-or-later

// Room upgrades: a configured room that gets a tombstone (m.room.tombstone,
// "this room was replaced by ...") is followed to its replacement: the bot
// joins it, sends there from then on under the same configured name (kept
// across restarts in the state), and says so in its private rooms.

package matrix

import (
	"context"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// followed is where a configured room moved: the replacement room and a
// server to join it through.
type followed struct {
	room id.RoomID
	via  string
	// fresh: not joined yet since the tombstone; an invite usually
	// follows within moments, so a refusal is not trouble at once.
	fresh bool
}

// followKey is the state key of the room a configured name moved to.
func followKey(name string) string { return "follow/" + name }

// loadFollows reads where the configured rooms moved in earlier runs.
func (t *Transport) loadFollows(ctx context.Context, st *state) {
	for _, ch := range t.Channels() {
		v, err := st.get(ctx, followKey(ch.Name))
		if err != nil || v == "" {
			continue
		}
		room, via, _ := strings.Cut(v, " ")
		t.mu.Lock()
		t.follows[ch.Name] = followed{room: id.RoomID(room), via: via}
		t.mu.Unlock()
	}
}

// joinTarget returns what to join for a configured room: its replacement
// when it moved (with a server to join through), else the name itself.
func (t *Transport) joinTarget(name string) (string, *mautrix.ReqJoinRoom) {
	t.mu.Lock()
	f, ok := t.follows[name]
	t.mu.Unlock()
	if !ok {
		return name, nil
	}
	var req *mautrix.ReqJoinRoom
	if f.via != "" {
		req = &mautrix.ReqJoinRoom{Via: []string{f.via}}
	}
	return string(f.room), req
}

// onTombstones follows the configured rooms a sync response says were
// replaced.
func (t *Transport) onTombstones(ctx context.Context, resp *mautrix.RespSync) {
	for rid, room := range resp.Rooms.Join {
		for _, evts := range [][]*event.Event{room.State.Events, room.Timeline.Events} {
			for _, e := range evts {
				if e.Type != event.StateTombstone || e.GetStateKey() != "" {
					continue
				}
				_ = e.Content.ParseRaw(e.Type)
				if c, ok := e.Content.Parsed.(*event.TombstoneEventContent); ok && c.ReplacementRoom != "" && c.ReplacementRoom != rid {
					t.follow(ctx, rid, c.ReplacementRoom, e.Sender)
				}
			}
		}
	}
}

// follow moves the configured room in old to its replacement repl.
func (t *Transport) follow(ctx context.Context, old, repl id.RoomID, sender id.UserID) {
	t.mu.Lock()
	ch, ok := t.rooms[old]
	st := t.st
	if ok {
		delete(t.rooms, old)
		delete(t.roomsOK, ch.Name)
		delete(t.joinRetries, ch.Name)
		t.resolved[ch.Name] = repl
		t.follows[ch.Name] = followed{room: repl, via: sender.Homeserver(), fresh: true}
	}
	t.mu.Unlock()
	if !ok {
		return
	}
	if st != nil {
		if err := st.set(ctx, followKey(ch.Name), string(repl)+" "+sender.Homeserver()); err != nil {
			t.log.Warn("failed to remember the room's replacement; a restart would go back to the old room", "room", ch.Name, "err", err)
		}
	}
	t.log.Warn("a configured room was upgraded; following it to its replacement", "room", ch.Name, "old_room_id", old, "new_room_id", repl, "by", sender)
	t.kickJoins()
	line := chat.Line{}.Text("The room ").Code(ch.Name).Text(" was upgraded to ").Code(string(repl)).
		Text("; ksecbot follows it there and goes on under the same configured name. Put the new ID in [[matrix.room]] when convenient.")
	go t.tellPrivate(ctx, "upgraded/"+string(old)+"/"+string(repl), line)
}

// tellPrivate posts line once (key) in each private room the bot is in.
func (t *Transport) tellPrivate(ctx context.Context, key string, line chat.Line) {
	t.mu.Lock()
	var targets []chat.Channel
	for _, ch := range t.rooms {
		if ch.Private {
			targets = append(targets, ch)
		}
	}
	t.mu.Unlock()
	for _, ch := range targets {
		out := chat.Outgoing{Key: key + "/" + ch.Key, Kind: chat.KindSystem, Channel: ch.Key, Target: ch.Name, Lines: []chat.Line{line}}
		if _, err := t.Send(ctx, out); err != nil {
			t.log.Warn("failed to tell a private room", "room", ch.Name, "err", err)
		}
	}
}
