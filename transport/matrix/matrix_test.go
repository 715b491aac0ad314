// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
	"github.com/ksecbot/ksecbot/transport"
)

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func announcement(key string, target string, mention ...string) chat.Outgoing {
	return chat.Outgoing{
		Key:    key,
		Kind:   chat.KindAnnounce,
		Target: target,
		Lines: []chat.Line{
			chat.Line{}.Bold("Bug 4242").Text(" CVE-2025-0001 <net/sched> use-after-free ").Mention(chat.Highlight{Tree: "gentoo-sources", Handles: map[string][]string{Name: mention}}),
			chat.Line{}.Link("", "https://bugs.gentoo.org/4242"),
		},
		BugIDs: []int{4242},
	}
}

func mentionsOf(evt *event.Event) []string {
	c := evt.Content.AsMessage()
	if c.Mentions == nil {
		return nil
	}
	out := idsToStrings(c.Mentions.UserIDs)
	slices.Sort(out)
	return out
}

// TestTransport runs the transport against the real homeserver: joins, E2EE,
// mentions, commands, replies, escaping and a restart on the same state.
func TestTransport(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()

	bot := srv.NewUser(ctx, t, "bot")
	botID, botPW := bot.ID, bot.Password
	obsUser := srv.NewUser(ctx, t, "observer")
	obsID := obsUser.ID
	maintID := srv.NewUser(ctx, t, "maint").ID
	obs := srv.Observe(ctx, t, obsUser)

	// A public unencrypted room configured by alias, and a private encrypted
	// room configured by ID, to which the bot is invited.
	alias := mxtest.RandName("ksec-")
	plain := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Public: true, Alias: alias})
	enc := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{botID}})
	aliasStr := "#" + alias + ":localhost"

	stateDir := t.TempDir()
	cfg := &Config{
		Homeserver: srv.URL,
		UserID:     string(botID),
		Password:   config.Secret(botPW),
		Encryption: true,
		Rooms:      []Room{{ID: aliasStr}, {ID: string(enc), Private: true}},
	}
	newTransport := func() *Transport {
		tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: stateDir, Version: "test", RetryMax: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := newTransport()
	if got := tr.Channels(); len(got) != 2 || got[0].Key != "matrix:"+aliasStr || got[1].Key != "matrix:"+string(enc) || !got[1].Private {
		t.Fatalf("channels = %+v", got)
	}
	r := start(t, tr)
	r.waitJoined(t)

	ids := []string{string(obsID), string(maintID)}
	slices.Sort(ids)
	var announceID string
	t.Run("announcement reaches the observer decrypted, with mentions and pills", func(t *testing.T) {
		for _, room := range []struct {
			target    string
			id        id.RoomID
			encrypted bool
		}{{aliasStr, plain, false}, {string(enc), enc, true}} {
			out := announcement("announce/4242/matrix:"+room.target, room.target, ids...)
			evID, err := tr.Send(ctx, out)
			if err != nil {
				t.Fatalf("send to %s: %v", room.target, err)
			}
			evt := obs.NextMsg(t, "a message in "+string(room.id), mxtest.InRoom(room.id))
			c := evt.Content.AsMessage()
			if string(evt.ID) != evID || evt.Mautrix.WasEncrypted != room.encrypted {
				t.Errorf("%s: got event %s (encrypted %v), want %s (encrypted %v)", room.target, evt.ID, evt.Mautrix.WasEncrypted, evID, room.encrypted)
			}
			if c.MsgType != event.MsgText || !strings.Contains(c.Body, "<net/sched>") {
				t.Errorf("%s: msgtype %q body %q", room.target, c.MsgType, c.Body)
			}
			if got := mentionsOf(evt); !slices.Equal(got, ids) {
				t.Errorf("%s: m.mentions = %v, want %v", room.target, got, ids)
			}
			pill := `<a href="https://matrix.to/#/` + string(obsID) + `">`
			if !strings.Contains(c.FormattedBody, pill) || !strings.Contains(c.FormattedBody, "&lt;net/sched&gt;") {
				t.Errorf("%s: formatted_body %q lacks the pill or escaping", room.target, c.FormattedBody)
			}
			if room.encrypted {
				announceID = evID
			}
		}
	})

	t.Run("commands and edits reach the inbox; notices do not", func(t *testing.T) {
		cmdID := obs.SayContent(ctx, t, enc, &event.MessageEventContent{MsgType: event.MsgText, Body: "!pending"})
		m := r.in.next(t)
		want := chat.Incoming{
			Channel: tr.Channels()[1], Target: string(enc), Text: "!pending", ID: string(cmdID),
			Sender: chat.Identity{Network: Name, Account: string(obsID), Nick: string(obsID), Kind: "Matrix user"},
		}
		if m != want {
			t.Errorf("incoming =\n%+v\nwant\n%+v", m, want)
		}

		reply := &event.MessageEventContent{MsgType: event.MsgText, Body: "!claim"}
		reply.RelatesTo = &event.RelatesTo{InReplyTo: &event.InReplyTo{EventID: id.EventID(announceID)}}
		obs.SayContent(ctx, t, enc, reply)
		if m := r.in.next(t); m.ReplyTo != announceID || m.Text != "!claim" {
			t.Errorf("reply: ReplyTo %q text %q, want %q !claim", m.ReplyTo, m.Text, announceID)
		}

		obs.SayContent(ctx, t, plain, &event.MessageEventContent{MsgType: event.MsgNotice, Body: "!claim 1"})
		edit := &event.MessageEventContent{MsgType: event.MsgText, Body: "!claim 2"}
		edit.SetEdit(cmdID)
		editID := obs.SayContent(ctx, t, enc, edit)
		if m := r.in.next(t); m.Text != "!claim 2" || m.Edits != string(cmdID) || m.ID != string(editID) {
			t.Errorf("after a notice, the edit came as %+v, want !claim 2 editing %s", m, cmdID)
		}
		obs.SayContent(ctx, t, plain, &event.MessageEventContent{MsgType: event.MsgText, Body: "!marker"})
		if m := r.in.next(t); m.Text != "!marker" || m.Channel.Key != "matrix:"+aliasStr {
			t.Errorf("after the edit got %+v, want !marker in %s", m, aliasStr)
		}
	})

	t.Run("hostile text is shown as text", func(t *testing.T) {
		hostile := `<script>alert(1)</script> <a href="https://evil.example/">x</a> <a href="https://matrix.to/#/` + string(obsID) + `">` + string(obsID) + `</a>`
		out := chat.Outgoing{Key: "reply/xss", Kind: chat.KindReply, Target: string(enc), Lines: []chat.Line{chat.Line{}.Text(hostile)}}
		if _, err := tr.Send(ctx, out); err != nil {
			t.Fatal(err)
		}
		evt := obs.NextMsg(t, "a message in "+string(enc), mxtest.InRoom(enc))
		c := evt.Content.AsMessage()
		if strings.Contains(c.FormattedBody, "<script") || strings.Contains(c.FormattedBody, "<a ") {
			t.Errorf("formatted_body contains live HTML: %s", c.FormattedBody)
		}
		// as is, but for the observer's name (a member of the room)
		// outside the URL
		local := obsID.Localpart()
		want := strings.Replace(hostile, `">`+string(obsID), `">@`+chat.Break(local)+strings.TrimPrefix(string(obsID), "@"+local), 1)
		if c.Body != want {
			t.Errorf("body = %q, want %q", c.Body, want)
		}
		if c.Mentions == nil || len(c.Mentions.UserIDs) != 0 {
			t.Errorf("m.mentions = %+v, want explicitly nobody", c.Mentions)
		}
	})

	t.Run("a reply that expired is not posted", func(t *testing.T) {
		late := chat.Outgoing{Key: "reply/late", Kind: chat.KindReply, Target: string(plain), Lines: []chat.Line{chat.Line{}.Text("too late")},
			Expires: time.Now().Add(-time.Second)}
		if _, err := tr.Send(ctx, late); !errors.Is(err, transport.ErrExpired) {
			t.Fatalf("Send of an expired reply = %v, want transport.ErrExpired", err)
		}
		marker := chat.Outgoing{Key: "reply/in-time", Kind: chat.KindReply, Target: string(plain), Lines: []chat.Line{chat.Line{}.Text("in time")},
			Expires: time.Now().Add(time.Minute)}
		if _, err := tr.Send(ctx, marker); err != nil {
			t.Fatal(err)
		}
		if evt := obs.NextMsg(t, "a message in "+string(plain), mxtest.InRoom(plain)); mxtest.Body(evt) != "in time" {
			t.Errorf("the room got %q, want only the reply in time", mxtest.Body(evt))
		}
	})

	t.Run("restart: no double post, no old commands, encryption still works", func(t *testing.T) {
		r.stop()
		if tr.Connected() {
			t.Error("still connected after Run returned")
		}
		if _, err := tr.Send(ctx, announcement("after-stop", string(enc))); err == nil {
			t.Error("Send after stop succeeded")
		}
		tr2 := newTransport()
		r2 := start(t, tr2)
		r2.waitJoined(t)

		again, err := tr2.Send(ctx, announcement("announce/4242/matrix:"+string(enc), string(enc), ids...))
		if err != nil {
			t.Fatal(err)
		}
		if again != announceID {
			t.Errorf("resend returned %s, want the first event %s", again, announceID)
		}
		fresh, err := tr2.Send(ctx, announcement("announce/4243/matrix:"+string(enc), string(enc), ids...))
		if err != nil {
			t.Fatal(err)
		}
		// The next event the observer sees is the new one: the resend posted nothing.
		if evt := obs.NextMsg(t, "a message in "+string(enc), mxtest.InRoom(enc)); string(evt.ID) != fresh || !evt.Mautrix.WasEncrypted {
			t.Errorf("observer saw %s (encrypted %v), want the new announcement %s encrypted", evt.ID, evt.Mautrix.WasEncrypted, fresh)
		}
		obs.SayContent(ctx, t, enc, &event.MessageEventContent{MsgType: event.MsgText, Body: "!after-restart"})
		if m := r2.in.next(t); m.Text != "!after-restart" {
			t.Errorf("first command after restart = %q, want !after-restart (old commands replayed?)", m.Text)
		}
		if st := tr2.Stats(); st.DecryptErrors != 0 || st.Sent != 1 {
			t.Errorf("stats = %+v, want 1 sent and no decrypt errors", st)
		}
	})
}

// TestOutage stops a private homeserver for 20 s while messages are sent:
// they fail, and once it is back each is posted exactly once.
func TestOutage(t *testing.T) {
	mxtest.Shared(t)
	d := mxtest.StartDendrite(t)
	srv := d.Server
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Second)
	defer cancel()

	bot := srv.NewUser(ctx, t, "bot")
	botID, botPW := bot.ID, bot.Password
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Invite: []id.UserID{botID}})
	// The observer only needs to read; it stays out of the outage.
	tr, err := New(&Config{
		Homeserver: srv.URL, UserID: string(botID), Password: config.Secret(botPW),
		Rooms: []Room{{ID: string(room)}},
	}, Options{Logger: testLogger(t), StateDir: t.TempDir(), RetryMax: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)

	d.Stop()
	waitFor(t, "the transport to notice the outage", 10*time.Second, func() bool { return !tr.Connected() })
	outs := []chat.Outgoing{
		announcement("announce/1/outage", string(room)),
		announcement("announce/2/outage", string(room)),
	}
	downUntil := time.Now().Add(20 * time.Second)
	attempts := 0
	for time.Now().Before(downUntil) {
		for _, o := range outs {
			if _, err := tr.Send(ctx, o); err == nil {
				t.Fatalf("Send succeeded while the homeserver was down")
			}
			attempts++
		}
		time.Sleep(time.Second) // the caller's retry interval, not synchronisation
	}
	if st := tr.Stats(); st.SendErrors < int64(attempts) || st.Sent != 0 {
		t.Errorf("stats after outage = %+v, want %d errors and nothing sent", st, attempts)
	}
	d.Start(t)

	// The caller keeps retrying until the homeserver accepts each message.
	got := map[string]bool{}
	waitFor(t, "the messages to be accepted after the outage", 30*time.Second, func() bool {
		for _, o := range outs {
			if ev, err := tr.Send(ctx, o); err == nil {
				got[ev] = true
			}
		}
		return len(got) == len(outs)
	})
	marker, err := tr.Send(ctx, chat.Outgoing{Key: "marker", Target: string(room), Lines: []chat.Line{chat.Line{}.Text("marker")}})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	for {
		evt := obs.NextMsg(t, "a message in "+string(room), mxtest.InRoom(room))
		if string(evt.ID) == marker {
			break
		}
		seen = append(seen, string(evt.ID))
	}
	if len(seen) != len(outs) {
		t.Errorf("observer saw %d announcements (%v), want each of %d exactly once", len(seen), seen, len(outs))
	}
	for _, ev := range seen {
		if !got[ev] {
			t.Errorf("observer saw unexpected event %s", ev)
		}
	}
}
