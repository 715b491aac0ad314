// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
)

// RoomSpec describes a room to create.
type RoomSpec struct {
	Name      string
	Public    bool   // preset public_chat; otherwise private_chat
	Encrypted bool   // Megolm from the start (m.room.encryption in the initial state)
	Alias     string // optional local part of a room alias (#Alias:server)
	Invite    []id.UserID
}

// CreateRoom creates the room described by spec as cli's user.
func CreateRoom(ctx context.Context, cli *mautrix.Client, spec RoomSpec) (id.RoomID, error) {
	req := &mautrix.ReqCreateRoom{Preset: "private_chat", Name: spec.Name, RoomAliasName: spec.Alias, Invite: spec.Invite}
	if spec.Public {
		req.Preset = "public_chat"
	}
	if spec.Encrypted {
		req.InitialState = []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}}
	}
	resp, err := cli.CreateRoom(ctx, req)
	if err != nil {
		return "", fmt.Errorf("failed to create room %q: %w", spec.Name, err)
	}
	return resp.RoomID, nil
}

// Send sends a text message as cli's user, as a Matrix reply to to when it
// is set; it is encrypted in encrypted rooms when cli has crypto.
func Send(ctx context.Context, cli *mautrix.Client, room id.RoomID, text string, to *event.Event) (id.EventID, error) {
	content := &event.MessageEventContent{MsgType: event.MsgText, Body: text}
	if to != nil {
		content.SetReply(to)
	}
	return SendContent(ctx, cli, room, content)
}

// SendContent sends an m.room.message with the given content.
func SendContent(ctx context.Context, cli *mautrix.Client, room id.RoomID, content *event.MessageEventContent) (id.EventID, error) {
	resp, err := cli.SendMessageEvent(ctx, room, event.EventMessage, content)
	if err != nil {
		return "", fmt.Errorf("%s failed to send %q: %w", cli.UserID, content.Body, err)
	}
	return resp.EventID, nil
}

// historyPages bounds History: 20 pages of 100 events.
const historyPages = 20

// History reads room's timeline through /messages, newest first, up to
// 2000 events. The events are not decrypted: use it for unencrypted rooms.
func History(ctx context.Context, cli *mautrix.Client, room id.RoomID) ([]*event.Event, error) {
	var out []*event.Event
	from := ""
	for range historyPages {
		resp, err := cli.Messages(ctx, room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			return nil, fmt.Errorf("failed to read /messages of %s: %w", room, err)
		}
		out = append(out, resp.Chunk...)
		if resp.End == "" || len(resp.Chunk) == 0 {
			break
		}
		from = resp.End
	}
	return out, nil
}

// IsJoined reports whether user is a joined member of room, as cli sees it
// now (/joined_members).
func IsJoined(ctx context.Context, cli *mautrix.Client, room id.RoomID, user id.UserID) (bool, error) {
	m, err := cli.JoinedMembers(ctx, room)
	if err != nil {
		return false, fmt.Errorf("failed to read the members of %s: %w", room, err)
	}
	_, ok := m.Joined[user]
	return ok, nil
}

// Body returns the body of a message event, parsed or (as /messages
// returns it) raw, as a person reads it: without the invisible
// chat.NoPing ksecbot puts into the names of the room's members so that
// no push rule matches them (check names on the raw body). "" for other
// events.
func Body(e *event.Event) string {
	if m, ok := e.Content.Parsed.(*event.MessageEventContent); ok {
		return strings.ReplaceAll(m.Body, string(chat.NoPing), "")
	}
	b, _ := e.Content.Raw["body"].(string)
	return strings.ReplaceAll(b, string(chat.NoPing), "")
}

// Mentions returns the sorted user IDs in a message's m.mentions.
func Mentions(e *event.Event) []string {
	m := e.Content.AsMessage()
	if m.Mentions == nil {
		return nil
	}
	out := make([]string, 0, len(m.Mentions.UserIDs))
	for _, u := range m.Mentions.UserIDs {
		out = append(out, string(u))
	}
	slices.Sort(out)
	return out
}

// IsReplyTo matches a message in room that is a Matrix reply to ev.
func IsReplyTo(room id.RoomID, ev id.EventID) func(*event.Event) bool {
	return func(e *event.Event) bool {
		return e.RoomID == room && e.Content.AsMessage().RelatesTo.GetReplyTo() == ev
	}
}
