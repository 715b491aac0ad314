package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"
)

// homeserver is the Dendrite of scripts/matrix-server.sh.
type homeserver struct{ url, secret string }

func randHex(prefix string) string {
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// register creates a fresh user by shared-secret registration.
func (hs homeserver) register(ctx context.Context, prefix string) (id.UserID, string, error) {
	cli, err := mautrix.NewClient(hs.url, "", "")
	if err != nil {
		return "", "", fmt.Errorf("matrix client: %w", err)
	}
	name, pw := randHex(prefix), randHex("pw-")
	admin := &synapseadmin.Client{Client: cli}
	if _, err := admin.SharedSecretRegister(ctx, hs.secret, synapseadmin.ReqSharedSecretRegister{
		Username: name, Password: pw, InhibitLogin: true,
	}); err != nil {
		return "", "", fmt.Errorf("registering %s: %w", name, err)
	}
	return id.NewUserID(name, "localhost"), pw, nil
}

// mxObserver is a Matrix user with its own E2EE device: it stamps every
// message (after decryption) and membership event when its sync delivers it.
type mxObserver struct {
	cli    *mautrix.Client
	helper *cryptohelper.CryptoHelper
	in     chan arrival
	cancel context.CancelFunc
	done   chan struct{}
}

func (hs homeserver) newObserver(ctx context.Context, dir string) (*mxObserver, error) {
	user, pw, err := hs.register(ctx, "observer-")
	if err != nil {
		return nil, err
	}
	cli, err := mautrix.NewClient(hs.url, "", "")
	if err != nil {
		return nil, fmt.Errorf("matrix client: %w", err)
	}
	helper, err := cryptohelper.NewCryptoHelper(cli, []byte("bench observer pickle key"), filepath.Join(dir, "observer.db"))
	if err != nil {
		return nil, fmt.Errorf("observer crypto: %w", err)
	}
	helper.LoginAs = &mautrix.ReqLogin{
		Type:       mautrix.AuthTypePassword,
		Identifier: mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: user.Localpart()},
		Password:   pw,
	}
	if err := helper.Init(ctx); err != nil {
		return nil, fmt.Errorf("observer crypto init: %w", err)
	}
	cli.Crypto = helper
	o := &mxObserver{cli: cli, helper: helper, in: make(chan arrival, 20000), done: make(chan struct{})}
	sy := cli.Syncer.(*mautrix.DefaultSyncer)
	sy.OnEventType(event.EventMessage, func(_ context.Context, evt *event.Event) {
		if evt.Sender == cli.UserID {
			return
		}
		a := arrival{at: time.Now(), from: string(evt.Sender), target: string(evt.RoomID), kind: "message"}
		if m := evt.Content.AsMessage(); m != nil {
			a.text = m.Body
		}
		o.deliver(a)
	})
	sy.OnEventType(event.StateMember, func(_ context.Context, evt *event.Event) {
		if evt.Content.AsMember().Membership != event.MembershipJoin {
			return
		}
		o.deliver(arrival{at: time.Now(), from: evt.GetStateKey(), target: string(evt.RoomID), kind: "join"})
	})
	sctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go func() {
		defer close(o.done)
		_ = cli.SyncWithContext(sctx)
	}()
	return o, nil
}

func (o *mxObserver) deliver(a arrival) {
	select {
	case o.in <- a:
	default: // never block the sync loop
	}
}

func (o *mxObserver) close() {
	o.cancel()
	<-o.done
	_ = o.helper.Close()
}

// createEncryptedRoom creates a private Megolm room with bot invited.
func (o *mxObserver) createEncryptedRoom(ctx context.Context, bot id.UserID) (id.RoomID, error) {
	resp, err := o.cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{
		Preset: "private_chat",
		Invite: []id.UserID{bot},
		Name:   "ksecbot bench (encrypted)",
		InitialState: []*event.Event{{
			Type:    event.StateEncryption,
			Content: event.Content{Parsed: &event.EncryptionEventContent{Algorithm: id.AlgorithmMegolmV1}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("creating the encrypted room: %w", err)
	}
	return resp.RoomID, nil
}

// next returns the next arrival for which match holds, dropping others.
func (o *mxObserver) next(ctx context.Context, match func(arrival) bool) (arrival, error) {
	for {
		select {
		case a := <-o.in:
			if match(a) {
				return a, nil
			}
		case <-ctx.Done():
			return arrival{}, ctx.Err()
		}
	}
}

// say sends a text message (encrypted in encrypted rooms).
func (o *mxObserver) say(ctx context.Context, room id.RoomID, text string) error {
	_, err := o.cli.SendMessageEvent(ctx, room, event.EventMessage, &event.MessageEventContent{MsgType: event.MsgText, Body: text})
	if err != nil {
		return fmt.Errorf("matrix send: %w", err)
	}
	return nil
}

// drain drops what arrived so far, so a timed wait sees only new arrivals.
func (o *mxObserver) drain() {
	for {
		select {
		case <-o.in:
		default:
			return
		}
	}
}
