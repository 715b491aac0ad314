package fault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
	"maunium.net/go/mautrix/synapseadmin"

	"github.com/ksecbot/ksecbot/e2e/e2etest"
)

const matrixHint = "scripts/matrix-server.sh start; source ~/.cache/ksecbot-testservers/matrix/env"

// mxWorld is a bot account and an observer with one unencrypted room the
// bot is invited to, on one homeserver.
type mxWorld struct {
	hsURL string
	botID id.UserID
	botPW string
	obs   *mautrix.Client
	room  id.RoomID
}

func newMXWorld(ctx context.Context, t *testing.T, hsURL, secret string) *mxWorld {
	t.Helper()
	w := &mxWorld{hsURL: hsURL}
	var obsID id.UserID
	var obsPW string
	w.botID, w.botPW = mxRegister(ctx, t, hsURL, secret, "ksecbot-")
	obsID, obsPW = mxRegister(ctx, t, hsURL, secret, "observer-")
	cli, err := mautrix.NewClient(hsURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:             mautrix.AuthTypePassword,
		Identifier:       mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: obsID.Localpart()},
		Password:         obsPW,
		StoreCredentials: true,
	}); err != nil {
		t.Fatalf("login %s: %v", obsID, err)
	}
	w.obs = cli
	resp, err := cli.CreateRoom(ctx, &mautrix.ReqCreateRoom{Preset: "public_chat", Invite: []id.UserID{w.botID}, Name: "ksecbot fault"})
	if err != nil {
		t.Fatalf("create room: %v", err)
	}
	w.room = resp.RoomID
	return w
}

func mxRegister(ctx context.Context, t *testing.T, hsURL, secret, prefix string) (id.UserID, string) {
	t.Helper()
	cli, err := mautrix.NewClient(hsURL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name, pw := prefix+hex.EncodeToString(b), "pw-"+hex.EncodeToString(b)+"-fault"
	admin := &synapseadmin.Client{Client: cli}
	if _, err := admin.SharedSecretRegister(ctx, secret, synapseadmin.ReqSharedSecretRegister{Username: name, Password: pw, InhibitLogin: true}); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return id.NewUserID(name, "localhost"), pw
}

// matrixConf is the [matrix] part of the bot's config.
func (w *mxWorld) matrixConf() *e2etest.Matrix {
	return &e2etest.Matrix{Homeserver: w.hsURL, UserID: string(w.botID), Password: w.botPW, Rooms: []string{string(w.room)}}
}

// waitBotJoined waits until the bot is a member of the room.
func (w *mxWorld) waitBotJoined(ctx context.Context, t *testing.T) {
	t.Helper()
	e2etest.Eventually(t, 60*time.Second, "ksecbot to join "+string(w.room), func() bool {
		m, err := w.obs.JoinedMembers(ctx, w.room)
		if err != nil {
			return false
		}
		_, ok := m.Joined[w.botID]
		return ok
	})
}

// announcements reads the room's history (/messages) and counts the bot's
// announcement events per bug.
func (w *mxWorld) announcements(ctx context.Context, t *testing.T) (map[int]int, error) {
	t.Helper()
	counts := map[int]int{}
	from := ""
	for page := 0; page < 20; page++ {
		resp, err := w.obs.Messages(ctx, w.room, from, "", mautrix.DirectionBackward, nil, 100)
		if err != nil {
			return nil, fmt.Errorf("failed to read /messages: %w", err)
		}
		for _, e := range resp.Chunk {
			if e.Sender != w.botID || e.Type != event.EventMessage {
				continue
			}
			body, _ := e.Content.Raw["body"].(string)
			if n, ok := bugOf(body); ok {
				counts[n]++
			}
		}
		if resp.End == "" || len(resp.Chunk) == 0 {
			break
		}
		from = resp.End
	}
	return counts, nil
}

// waitAnnounced waits until the room's history holds every one of ids and
// returns the counts per bug.
func (w *mxWorld) waitAnnounced(ctx context.Context, t *testing.T, timeout time.Duration, ids []int) map[int]int {
	t.Helper()
	var counts map[int]int
	e2etest.Eventually(t, timeout, fmt.Sprintf("%d announcements in the room's history", len(ids)), func() bool {
		c, err := w.announcements(ctx, t)
		if err != nil {
			return false
		}
		counts = c
		for _, id := range ids {
			if c[id] == 0 {
				return false
			}
		}
		return true
	})
	return counts
}
