// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestThreadsEditsRedactions checks Element's ways of talking to the bot
// on the real homeserver, in an encrypted room: a command in a thread
// reaches the core about the thread's root (the announcement it was
// started on) and is answered in that thread; an edited command reaches
// the core as the corrected command, and its answer replies to the message
// people see (the original); a redaction reaches the core naming the
// withdrawn command.
func TestThreadsEditsRedactions(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "threadbot")
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})
	tr, err := New(&Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password), Encryption: true,
		Rooms: []Room{{ID: string(room), Private: true}}}, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)
	reply := func(m chat.Incoming, text string) *event.Event {
		t.Helper()
		ev, err := tr.Send(ctx, chat.Outgoing{Key: "reply/" + m.ID, Kind: chat.KindReply, Target: m.Target, ReplyTo: m.ID, Lines: []chat.Line{chat.Line{}.Text(text)}})
		if err != nil {
			t.Fatal(err)
		}
		return obs.WaitMsg(t, text, func(e *event.Event) bool { return string(e.ID) == ev })
	}

	announce, err := tr.Send(ctx, announcement("announce/77/threads", string(room)))
	if err != nil {
		t.Fatal(err)
	}
	root := id.EventID(announce)

	t.Run("a command in a thread is answered in the thread", func(t *testing.T) {
		c := &event.MessageEventContent{MsgType: event.MsgText, Body: "!claim"}
		c.RelatesTo = (&event.RelatesTo{}).SetThread(root, root)
		cmd := obs.SayContent(ctx, t, room, c)
		m := r.in.next(t)
		if m.ID != string(cmd) || m.ReplyTo != string(root) || m.Text != "!claim" {
			t.Fatalf("thread command reached the core as %+v, want !claim about the thread's root %s", m, root)
		}
		got := reply(m, "claimed in the thread").Content.AsMessage().RelatesTo
		if got.GetThreadParent() != root || got.GetReplyTo() != cmd || got.IsFallingBack {
			t.Errorf("the answer relates as %+v, want in thread %s replying to %s", got, root, cmd)
		}

		// A real reply inside the thread is about the message it replies to.
		c2 := &event.MessageEventContent{MsgType: event.MsgText, Body: "!bug"}
		c2.RelatesTo = &event.RelatesTo{Type: event.RelThread, EventID: root, InReplyTo: &event.InReplyTo{EventID: cmd}}
		cmd2 := obs.SayContent(ctx, t, room, c2)
		if m := r.in.next(t); m.ID != string(cmd2) || m.ReplyTo != string(cmd) {
			t.Errorf("a reply in the thread reached the core as %+v, want ReplyTo %s", m, cmd)
		}
	})

	t.Run("an edited command is answered as edited, at the original", func(t *testing.T) {
		orig := obs.Say(ctx, t, room, "!bug 12", nil)
		if m := r.in.next(t); m.ID != string(orig) || m.Edits != "" {
			t.Fatalf("the command reached the core as %+v", m)
		}
		e := &event.MessageEventContent{MsgType: event.MsgText, Body: "!bug 13"}
		e.SetEdit(orig)
		editID := obs.SayContent(ctx, t, room, e)
		m := r.in.next(t)
		if m.ID != string(editID) || m.Edits != string(orig) || m.Text != "!bug 13" {
			t.Fatalf("the edit reached the core as %+v, want !bug 13 correcting %s", m, orig)
		}
		if got := reply(m, "bug 13 is ...").Content.AsMessage().RelatesTo.GetReplyTo(); got != orig {
			t.Errorf("the answer to the edit replies to %s, want the original %s (the edit event is hidden)", got, orig)
		}
		// A second edit still names the first message.
		e2 := &event.MessageEventContent{MsgType: event.MsgText, Body: "!bug 14"}
		e2.SetEdit(orig)
		obs.SayContent(ctx, t, room, e2)
		if m := r.in.next(t); m.Edits != string(orig) || m.Text != "!bug 14" {
			t.Errorf("the second edit reached the core as %+v, want !bug 14 correcting %s", m, orig)
		}
	})

	t.Run("a redaction names the withdrawn command", func(t *testing.T) {
		cmd := obs.Say(ctx, t, room, "!pending", nil)
		if m := r.in.next(t); m.ID != string(cmd) {
			t.Fatalf("the command reached the core as %+v", m)
		}
		if _, err := obs.Client.RedactEvent(ctx, room, cmd); err != nil {
			t.Fatal(err)
		}
		if m := r.in.next(t); m.Redacts != string(cmd) || m.Text != "" {
			t.Errorf("the redaction reached the core as %+v, want Redacts %s", m, cmd)
		}
	})
}
