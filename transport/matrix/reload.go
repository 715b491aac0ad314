// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/transport"
)

var _ transport.ChannelReloader = (*Transport)(nil)

// ReloadChannels implements transport.ChannelReloader: it joins the rooms
// the new [matrix] section adds (room ID or alias), leaves the ones it
// removes and takes the new private and previews flags of the others, on
// the running connection. Channels returns the new list at once; the joins and leaves
// happen in the background (a failed join is retried with backoff).
// needRestart reports that another [matrix] setting differs from the
// running one; those keep their old values. An invalid room list is an
// error and changes nothing. A nil section is ignored (the core reports
// the removed section). Safe for concurrent use with Run and Send.
func (t *Transport) ReloadChannels(sec config.Section) (needRestart bool, err error) {
	cfg, _ := sec.(*Config)
	if cfg == nil {
		return false, nil
	}
	channels, byName, err := buildRooms(cfg.Rooms)
	if err != nil {
		return false, err
	}
	t.mu.Lock()
	// The token and password apply from the next login: a network
	// stopped by a refused token is retried on SIGHUP with the fixed one.
	t.token, t.password = cfg.AccessToken, cfg.Password
	var added, removed []string
	for _, ch := range channels {
		if _, ok := t.byName[ch.Name]; !ok {
			added = append(added, ch.Name)
		}
	}
	// rooms still configured under any name (a room may be listed by
	// alias before and by ID now)
	keep := map[id.RoomID]bool{}
	for name := range byName {
		if rid, ok := t.resolved[name]; ok {
			keep[rid] = true
		}
	}
	type leaving struct {
		rid  id.RoomID
		name string
	}
	var leave []leaving
	for _, ch := range t.channels {
		if _, ok := byName[ch.Name]; ok {
			continue
		}
		removed = append(removed, ch.Name)
		rid, ok := t.resolved[ch.Name]
		if _, joined := t.rooms[rid]; ok && joined && !keep[rid] {
			delete(t.rooms, rid)
			leave = append(leave, leaving{rid, ch.Name})
		}
	}
	var madePrivate []id.RoomID
	for name, ch := range byName { // new flags for the joined rooms
		if rid, ok := t.resolved[name]; ok {
			if old, joined := t.rooms[rid]; joined {
				if ch.Private && !old.Private {
					madePrivate = append(madePrivate, rid)
				}
				t.rooms[rid] = ch
			}
		}
	}
	rc := t.crypt
	t.channels, t.byName = channels, byName
	cli, ctx := t.cli, t.runCtx
	t.mu.Unlock()

	if rc != nil {
		// A room key shared while the room was public may have gone to
		// devices the private room's share_keys leaves out.
		for _, rid := range madePrivate {
			rc.rekey(rid)
		}
	}
	// Without a client Run has not joined anything yet, and joins the new
	// list once logged in.
	if cli != nil && (len(leave) > 0 || len(added) > 0) {
		go func() {
			for _, l := range leave {
				t.leave(ctx, cli, l.rid, l.name)
			}
			t.joinNow(added...)
		}()
	}
	t.log.Info("rooms reloaded", "rooms", len(channels), "join", added, "leave", removed)
	return !sameExceptRooms(t.cfg, cfg), nil
}

// leave leaves a room that is no longer configured.
func (t *Transport) leave(ctx context.Context, cli *mautrix.Client, rid id.RoomID, name string) {
	if _, err := cli.LeaveRoom(ctx, rid, &mautrix.ReqLeave{Reason: "room removed from ksecbot's configuration"}); err != nil {
		if ctx.Err() == nil {
			t.log.Warn("failed to leave a removed room", "room", name, "room_id", rid, "err", err)
		}
		return
	}
	t.log.Info("left room", "room", name, "room_id", rid)
}

// sameExceptRooms reports whether a and b differ in nothing but their
// rooms and the token and password (which the next login uses).
func sameExceptRooms(a, b *Config) bool {
	x, y := *a, *b
	x.Rooms, y.Rooms = nil, nil
	x.AccessToken, y.AccessToken, x.Password, y.Password = "", "", "", ""
	x.AccessTokenFile, y.AccessTokenFile, x.PasswordFile, y.PasswordFile = "", "", "", ""
	return reflect.DeepEqual(x, y)
}

// buildRooms checks the [[matrix.room]] entries and returns their channels,
// in order and by configured ID or alias.
func buildRooms(rooms []Room) ([]chat.Channel, map[string]chat.Channel, error) {
	var channels []chat.Channel
	byName := map[string]chat.Channel{}
	for _, r := range rooms {
		if !strings.HasPrefix(r.ID, "!") && !strings.HasPrefix(r.ID, "#") {
			return nil, nil, fmt.Errorf("matrix.room id %q is neither a room ID (!…) nor an alias (#…)", r.ID)
		}
		if _, dup := byName[r.ID]; dup {
			return nil, nil, fmt.Errorf("matrix.room %q is listed twice", r.ID)
		}
		ch := chat.Channel{
			Key:      chat.ChannelKey(Name, r.ID),
			Network:  Name,
			Name:     r.ID,
			Private:  r.Private,
			Previews: r.Previews == nil || *r.Previews,
			CVEFeed:  r.CVEFeed,
		}
		channels = append(channels, ch)
		byName[r.ID] = ch
	}
	return channels, byName, nil
}
