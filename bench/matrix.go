// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix"

	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// mxObserver adapts an mxtest.Observer (a Matrix user with its own E2EE
// device, stamping what its sync delivers) to the benchmark's arrivals.
type mxObserver struct {
	*mxtest.Observer
}

// newMXObserver registers a fresh observer whose crypto state lives in dir.
func newMXObserver(ctx context.Context, hs mxtest.Server, dir string) (*mxObserver, error) {
	u, err := hs.Register(ctx, "observer-")
	if err != nil {
		return nil, err
	}
	o, err := hs.StartObserver(ctx, u, dir)
	if err != nil {
		return nil, err
	}
	return &mxObserver{o}, nil
}

// arrival turns a recorded event into an arrival: kind "message" (body as
// text) or "join"; other membership changes have kind "member".
func mxArrival(r mxtest.Received) arrival {
	a := arrival{at: r.At, from: string(r.Event.Sender), target: string(r.Event.RoomID), kind: "message", text: mxtest.Body(r.Event)}
	if !r.IsMessage() {
		a.from, a.kind = r.Event.GetStateKey(), "member"
		if r.Membership() == "join" {
			a.kind = "join"
		}
	}
	return a
}

// next returns the next arrival for which match holds, dropping others.
func (o *mxObserver) next(ctx context.Context, match func(arrival) bool) (arrival, error) {
	r, err := o.Next(ctx, func(r mxtest.Received) bool { return match(mxArrival(r)) })
	if err != nil {
		return arrival{}, err
	}
	return mxArrival(r), nil
}

// say sends a text message (encrypted in encrypted rooms).
func (o *mxObserver) say(ctx context.Context, room mxtest.RoomID, text string) error {
	_, err := mxtest.Send(ctx, o.Client, room, text, nil)
	return err
}

// drain drops what arrived so far, so a timed wait sees only new arrivals.
func (o *mxObserver) drain() { o.Skip() }

func (o *mxObserver) close() { o.Close() }

// invite invites user into room.
func (o *mxObserver) invite(ctx context.Context, room mxtest.RoomID, user mxtest.UserID) error {
	if _, err := o.Client.InviteUser(ctx, room, &mautrix.ReqInviteUser{UserID: user}); err != nil {
		return fmt.Errorf("inviting %s: %w", user, err)
	}
	return nil
}
