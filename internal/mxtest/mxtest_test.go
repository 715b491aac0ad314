// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"testing"
	"time"

	"maunium.net/go/mautrix/event"
)

// TestObserverRoundTrip: what one observer says in a plain and an
// encrypted room reaches the other decrypted, replies point at their
// target, and the plain room's history holds the message.
func TestObserverRoundTrip(t *testing.T) {
	s := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	alice, bob := s.Observe(ctx, t, s.NewUser(ctx, t, "alice-")), s.Observe(ctx, t, s.NewUser(ctx, t, "bob-"))
	for _, tc := range []struct {
		name      string
		public    bool
		encrypted bool
	}{{"plain", true, false}, {"encrypted", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			room := alice.CreateRoom(ctx, t, RoomSpec{Name: tc.name, Public: tc.public, Encrypted: tc.encrypted, Invite: []UserID{bob.User.ID}})
			if _, err := bob.Client.JoinRoomByID(ctx, room); err != nil {
				t.Fatal(err)
			}
			alice.WaitJoined(t, room, bob.User.ID)
			if ok, err := IsJoined(ctx, alice.Client, room, bob.User.ID); err != nil || !ok {
				t.Fatalf("IsJoined(bob) = %v, %v after his join", ok, err)
			}
			hello := alice.Say(ctx, t, room, "hello "+tc.name, nil)
			got := bob.NextMsg(t, "hello", InRoom(room))
			if got.ID != hello || Body(got) != "hello "+tc.name || got.Mautrix.WasEncrypted != tc.encrypted {
				t.Errorf("bob got %s %q (encrypted %v), want %s %q (encrypted %v)", got.ID, Body(got), got.Mautrix.WasEncrypted, hello, "hello "+tc.name, tc.encrypted)
			}
			reply := bob.Say(ctx, t, room, "hi", got)
			r := alice.WaitMsg(t, "bob's reply", IsReplyTo(room, got.ID))
			if r.ID != reply || alice.Count(IsReplyTo(room, got.ID)) != 1 {
				t.Errorf("alice got reply %s, want %s once", r.ID, reply)
			}
			if alice.Count(InRoom(room)) != 1 {
				t.Errorf("alice recorded %d messages in %s, want only bob's (not her own)", alice.Count(InRoom(room)), room)
			}
			if tc.encrypted {
				return
			}
			hist, err := History(ctx, alice.Client, room)
			if err != nil {
				t.Fatal(err)
			}
			var bodies []string
			for _, e := range hist {
				if e.Type == event.EventMessage {
					bodies = append(bodies, Body(e))
				}
			}
			if len(bodies) != 2 || bodies[0] != "hi" || bodies[1] != "hello plain" {
				t.Errorf("history bodies (newest first) = %q, want [hi, hello plain]", bodies)
			}
		})
	}
}

// TestNextSkip: Next moves past what it returns, and Skip past everything
// so far.
func TestNextSkip(t *testing.T) {
	s := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice := s.Observe(ctx, t, s.NewUser(ctx, t, "alice-"))
	bob := s.Login(ctx, t, s.NewUser(ctx, t, "bob-"))
	room := alice.CreateRoom(ctx, t, RoomSpec{Public: true})
	if _, err := bob.JoinRoomByID(ctx, room); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"one", "two"} {
		if _, err := Send(ctx, bob, room, text, nil); err != nil {
			t.Fatal(err)
		}
	}
	alice.NextMsg(t, "two", func(e *event.Event) bool { return Body(e) == "two" })
	alice.Skip()
	if _, err := Send(ctx, bob, room, "three", nil); err != nil {
		t.Fatal(err)
	}
	if got := alice.NextMsg(t, "any message", InRoom(room)); Body(got) != "three" {
		t.Errorf("after Skip, Next returned %q, want three", Body(got))
	}
	if e := alice.WaitMsg(t, "one", func(e *event.Event) bool { return Body(e) == "one" }); Body(e) != "one" {
		t.Errorf("Await from the start returned %q", Body(e))
	}
}

// TestDendriteRestart: a private Dendrite serves, is down after Stop, and
// keeps its accounts across Start.
func TestDendriteRestart(t *testing.T) {
	d := StartDendrite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	u := d.NewUser(ctx, t, "user-")
	d.Stop()
	if _, err := d.Register(ctx, "down-"); err == nil {
		t.Fatal("registration succeeded while Dendrite was stopped")
	}
	d.Start(t)
	if cli := d.Login(ctx, t, u); cli.UserID != u.ID {
		t.Errorf("logged in as %s, want %s", cli.UserID, u.ID)
	}
}
