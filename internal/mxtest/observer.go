// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/crypto/verificationhelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// DefaultTimeout is how long an Observer's test helpers wait by default;
// generous because the test machine is shared.
const DefaultTimeout = 60 * time.Second

// Received is an event as the observer's sync delivered it (messages after
// decryption), stamped on receipt.
type Received struct {
	Event *event.Event
	At    time.Time
}

// IsMessage reports whether r is an m.room.message (decrypted if it was
// encrypted).
func (r Received) IsMessage() bool { return r.Event.Type == event.EventMessage }

// Membership returns the membership an m.room.member event sets, or "".
func (r Received) Membership() event.Membership {
	if r.Event.Type != event.StateMember {
		return ""
	}
	return r.Event.Content.AsMember().Membership
}

// Observer is a Matrix user with its own device and end-to-end encryption
// (goolm, SQLite in a temporary directory), like a maintainer's client. Its
// sync loop records every m.room.message from other users (decrypted) and
// every m.room.member event, in order. Safe for concurrent use.
type Observer struct {
	// Client is the logged-in client; its Crypto is set.
	Client *mautrix.Client
	// User is the observer's account.
	User User
	// Timeout bounds the test helpers (WaitMsg, NextMsg, WaitJoined);
	// DefaultTimeout unless changed before use.
	Timeout time.Duration

	helper  *cryptohelper.CryptoHelper
	vh      *verificationhelper.VerificationHelper // emoji verification (VerifyUser)
	sas     *sasFlow
	cancel  context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	got     []Received
	cursor  int           // Next's position in got
	changed chan struct{} // closed and replaced whenever got grows
}

// StartObserver logs u in with a new device whose crypto state lives in
// dir and starts its sync loop. Close stops it. Like a user's first
// Element session, the first observer of an account sets up its
// cross-signing (password check answered with u's password) and signs its
// own device; a later one starts unsigned, like a new session before it is
// verified (Verify signs it from another).
func (s Server) StartObserver(ctx context.Context, u User, dir string) (*Observer, error) {
	cli, err := mautrix.NewClient(s.URL, "", "")
	if err != nil {
		return nil, fmt.Errorf("failed to create a matrix client: %w", err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("mxtest observer pickle key"), filepath.Join(dir, "observer.db"))
	if err != nil {
		return nil, fmt.Errorf("failed to create the observer's crypto: %w", err)
	}
	helper.LoginAs = loginReq(u, false)
	if err := helper.Init(ctx); err != nil {
		return nil, fmt.Errorf("failed to initialise the observer's crypto: %w", err)
	}
	cli.Crypto = helper
	if err := crossSignFirst(ctx, helper.Machine(), u); err != nil {
		_ = helper.Close()
		return nil, err
	}
	o := &Observer{Client: cli, User: u, Timeout: DefaultTimeout, helper: helper, done: make(chan struct{}), changed: make(chan struct{})}
	sy := cli.Syncer.(*mautrix.DefaultSyncer)
	sy.OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		if evt.Sender != cli.UserID {
			o.record(evt)
		}
	})
	sy.OnEventType(event.StateMember, func(_ context.Context, evt *event.Event) { o.record(evt) })
	o.sas = &sasFlow{o: o, emoji: map[id.VerificationTransactionID]chan string{}, end: map[id.VerificationTransactionID]chan error{}}
	o.vh = verificationhelper.NewVerificationHelper(cli, helper.Machine(), nil, o.sas, false, false, true)
	if err := o.vh.Init(ctx); err != nil {
		_ = helper.Close()
		return nil, fmt.Errorf("failed to start the observer's verification: %w", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go func() {
		defer close(o.done)
		_ = cli.SyncWithContext(sctx)
	}()
	return o, nil
}

// Observe is StartObserver with a temporary directory; the test's cleanup
// closes the observer.
func (s Server) Observe(ctx context.Context, t testing.TB, u User) *Observer {
	t.Helper()
	o, err := s.StartObserver(ctx, u, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Close)
	return o
}

// Close stops the sync loop and closes the crypto store.
func (o *Observer) Close() {
	o.cancel()
	<-o.done
	_ = o.helper.Close()
}

func (o *Observer) record(evt *event.Event) {
	o.mu.Lock()
	o.got = append(o.got, Received{Event: evt, At: time.Now()})
	close(o.changed)
	o.changed = make(chan struct{})
	o.mu.Unlock()
}

// scan calls find on everything recorded until it returns true or ctx ends.
// find runs under the lock; it must not call the Observer.
func (o *Observer) scan(ctx context.Context, find func(got []Received) bool) error {
	for {
		o.mu.Lock()
		ok, changed := find(o.got), o.changed
		o.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Await returns the first message recorded since the start for which match
// holds, waiting for it until ctx ends.
func (o *Observer) Await(ctx context.Context, match func(*event.Event) bool) (*event.Event, error) {
	var found *event.Event
	err := o.scan(ctx, func(got []Received) bool {
		for _, r := range got {
			if r.IsMessage() && match(r.Event) {
				found = r.Event
				return true
			}
		}
		return false
	})
	return found, err
}

// Next returns the first event after the previous one Next returned (or
// after Skip) for which match holds, and moves past it; events skipped on
// the way are gone for Next. It waits until ctx ends.
func (o *Observer) Next(ctx context.Context, match func(Received) bool) (Received, error) {
	var found Received
	err := o.scan(ctx, func(got []Received) bool {
		for ; o.cursor < len(got); o.cursor++ {
			if match(got[o.cursor]) {
				found = got[o.cursor]
				o.cursor++
				return true
			}
		}
		return false
	})
	return found, err
}

// Skip makes Next ignore everything recorded so far.
func (o *Observer) Skip() {
	o.mu.Lock()
	o.cursor = len(o.got)
	o.mu.Unlock()
}

// AwaitJoin waits until user's latest recorded membership in room is join.
func (o *Observer) AwaitJoin(ctx context.Context, room id.RoomID, user id.UserID) error {
	return o.scan(ctx, func(got []Received) bool {
		for i := len(got) - 1; i >= 0; i-- {
			e := got[i].Event
			if e.Type == event.StateMember && e.RoomID == room && e.GetStateKey() == string(user) {
				return got[i].Membership() == event.MembershipJoin
			}
		}
		return false
	})
}

// Count returns how many recorded messages match.
func (o *Observer) Count(match func(*event.Event) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, r := range o.got {
		if r.IsMessage() && match(r.Event) {
			n++
		}
	}
	return n
}

// WaitMsg is Await bounded by o.Timeout that fails the test, listing the
// messages seen, when none matches; what names the awaited message.
func (o *Observer) WaitMsg(t testing.TB, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	e, err := o.Await(ctx, match)
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s; messages seen:\n%s", o.Timeout, what, o.dump())
	}
	return e
}

// NextMsg returns the next message (see Next) for which match holds, or
// fails the test after o.Timeout.
func (o *Observer) NextMsg(t testing.TB, what string, match func(*event.Event) bool) *event.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	r, err := o.Next(ctx, func(r Received) bool { return r.IsMessage() && match(r.Event) })
	if err != nil {
		t.Fatalf("timed out after %s waiting for %s; messages seen:\n%s", o.Timeout, what, o.dump())
	}
	return r.Event
}

// ReplyTo waits for a message in room that is a Matrix reply to ev, or
// fails the test after o.Timeout.
func (o *Observer) ReplyTo(t testing.TB, room id.RoomID, ev id.EventID) *event.Event {
	t.Helper()
	return o.WaitMsg(t, "the reply to "+string(ev), IsReplyTo(room, ev))
}

// InRoom matches any message in room.
func InRoom(room id.RoomID) func(*event.Event) bool {
	return func(e *event.Event) bool { return e.RoomID == room }
}

// WaitJoined waits until user has joined room, or fails the test after
// o.Timeout.
func (o *Observer) WaitJoined(t testing.TB, room id.RoomID, user id.UserID) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	if err := o.AwaitJoin(ctx, room, user); err != nil {
		t.Fatalf("timed out after %s waiting for %s to join %s", o.Timeout, user, room)
	}
}

// CreateRoom creates a room as the observer, or fails the test.
func (o *Observer) CreateRoom(ctx context.Context, t testing.TB, spec RoomSpec) id.RoomID {
	t.Helper()
	room, err := CreateRoom(ctx, o.Client, spec)
	if err != nil {
		t.Fatal(err)
	}
	return room
}

// Say sends text to room (a Matrix reply to to when it is set), encrypted
// in encrypted rooms, and returns its event ID; it fails the test on error.
func (o *Observer) Say(ctx context.Context, t testing.TB, room id.RoomID, text string, to *event.Event) id.EventID {
	t.Helper()
	ev, err := Send(ctx, o.Client, room, text, to)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// SayContent sends a message with the given content, or fails the test.
func (o *Observer) SayContent(ctx context.Context, t testing.TB, room id.RoomID, content *event.MessageEventContent) id.EventID {
	t.Helper()
	ev, err := SendContent(ctx, o.Client, room, content)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// dump lists the recorded messages, one a line.
func (o *Observer) dump() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b strings.Builder
	for _, r := range o.got {
		if r.IsMessage() {
			fmt.Fprintf(&b, "  %s %s: %q\n", r.Event.RoomID, r.Event.Sender, Body(r.Event))
		}
	}
	return b.String()
}

// Messages returns the recorded messages (decrypted), oldest first.
func (o *Observer) Messages() []*event.Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []*event.Event
	for _, r := range o.got {
		if r.IsMessage() {
			out = append(out, r.Event)
		}
	}
	return out
}
