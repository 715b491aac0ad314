// SPDX-License-Identifier: GPL-3.0-or-later

package matrix

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/ssss"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/mxtest"
)

// TestDeviceTrust checks the bot's cross-signing on the real homeserver,
// as another user's client sees it: /keys/query shows the bot's master
// and self-signing keys and its device signed by the self-signing key;
// the recovery key file is written 0600; a client that shares keys only
// with cross-signed devices reaches the bot and decrypts its messages,
// which it sees as sent by a device cross-signed by its owner; after the
// crypto store is deleted the bot comes back as a new device, signed again
// with the recovery key file, and the old device is gone.
func TestDeviceTrust(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "trustbot")
	alice := srv.Observe(ctx, t, srv.NewUser(ctx, t, "alice"))
	alice.Machine().SendKeysMinTrust = id.TrustStateCrossSignedTOFU // "only cross-signed devices"
	room := alice.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})

	stateDir := t.TempDir()
	cfg := &Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password), Encryption: true,
		Rooms: []Room{{ID: string(room), Private: true}}}
	newTransport := func() *Transport {
		tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: stateDir, Version: "test", RetryMax: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	tr := newTransport()
	r := start(t, tr)
	r.waitJoined(t)

	first := checkSigned(ctx, t, alice, bot.ID, tr)
	st, err := os.Stat(tr.recoveryPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("recovery key file %s: %v, mode %v; want it written 0600", tr.recoveryPath, err, st.Mode().Perm())
	}
	if _, err := readRecoveryKey(tr.recoveryPath); err != nil {
		t.Fatal(err)
	}

	roundTrip(ctx, t, alice, r, tr, room, "one")

	// Lose the crypto store: the bot moves to a new device and signs it
	// with the recovery key; the old device is removed.
	r.stop()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(tr.cryptoPath + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	tr2 := newTransport()
	r2 := start(t, tr2)
	r2.waitJoined(t)
	second := checkSigned(ctx, t, alice, bot.ID, tr2)
	if second.device == first.device {
		t.Errorf("after losing the crypto store the bot is still device %s", first.device)
	}
	if second.master != first.master {
		t.Errorf("the master key changed from %s to %s: the recovery key was not used", first.master, second.master)
	}
	devs, err := srv.Login(ctx, t, mxtest.User{ID: bot.ID, Password: bot.Password}).GetDevicesInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs.Devices {
		if d.DeviceID == first.device {
			t.Errorf("the device whose crypto store was lost, %s, is still on the account", first.device)
		}
	}
	roundTrip(ctx, t, alice, r2, tr2, room, "two")
}

// signedState is what checkSigned found.
type signedState struct {
	device id.DeviceID
	master id.Ed25519
}

// checkSigned asks the homeserver, as another user, for the bot's keys.
func checkSigned(ctx context.Context, t *testing.T, as *mxtest.Observer, botID id.UserID, tr *Transport) signedState {
	t.Helper()
	tr.mu.Lock()
	device := tr.cli.DeviceID
	tr.mu.Unlock()
	keys, err := mxtest.Keys(ctx, as.Client, botID, device)
	if err != nil {
		t.Fatal(err)
	}
	if keys.Master == "" || keys.SelfSigning == "" || !keys.SelfSignedByMaster || !keys.DeviceSigned {
		t.Fatalf("/keys/query for %s device %s: %+v; want master and self-signing keys, the latter signed by the master, and the device signed by it", botID, device, keys)
	}
	t.Logf("/keys/query: master %s, self-signing %s, device %s signed", keys.Master, keys.SelfSigning, device)
	return signedState{device: device, master: keys.Master}
}

// roundTrip sends a command from as (which shares keys only with
// cross-signed devices) to the bot and a message from the bot to as, and
// checks as sees the bot's device as cross-signed.
func roundTrip(ctx context.Context, t *testing.T, as *mxtest.Observer, r *running, tr *Transport, room id.RoomID, tag string) {
	t.Helper()
	cmd := as.Say(ctx, t, room, "!pending "+tag, nil)
	if m := r.in.next(t); m.ID != string(cmd) || m.Text != "!pending "+tag {
		t.Errorf("the bot got %+v, want the encrypted command %s", m, cmd)
	}
	text := "embargoed " + tag
	ev, err := tr.Send(ctx, chat.Outgoing{Key: "announce/trust/" + tag, Kind: chat.KindAnnounce, Target: string(room), Lines: []chat.Line{chat.Line{}.Text(text)}})
	if err != nil {
		t.Fatal(err)
	}
	got := as.WaitMsg(t, text, func(e *event.Event) bool { return string(e.ID) == ev })
	if !got.Mautrix.WasEncrypted || got.Mautrix.TrustState < id.TrustStateCrossSignedTOFU {
		t.Errorf("%q: encrypted %v, sender device trust %s; want encrypted by a device cross-signed by its owner", text, got.Mautrix.WasEncrypted, got.Mautrix.TrustState)
	}
}

// TestPrivateRoomKeysOnlyToSignedDevices checks share_keys on the real
// homeserver: in a private room a member's new device that its owner has
// not verified does not get the room key (it is told "unverified") while
// the member's signed device reads the embargoed line; the room is told
// once about the device left out; once the owner verifies the device, it
// gets the next message. In a public room the unsigned device reads too.
func TestPrivateRoomKeysOnlyToSignedDevices(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "sharebot")
	aliceUser := srv.NewUser(ctx, t, "alice")
	alice := srv.Observe(ctx, t, aliceUser) // first session: sets up cross-signing, signed
	private := alice.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})
	public := alice.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})

	cfg := &Config{Homeserver: srv.URL, UserID: string(bot.ID), Password: config.Secret(bot.Password), Encryption: true,
		Rooms: []Room{{ID: string(private), Private: true}, {ID: string(public)}}}
	tr, err := New(cfg, Options{Logger: testLogger(t), StateDir: t.TempDir(), Version: "test", RetryMax: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := start(t, tr)
	r.waitJoined(t)
	send := func(room id.RoomID, key, text string) id.EventID {
		t.Helper()
		ev, err := tr.Send(ctx, chat.Outgoing{Key: key, Kind: chat.KindAnnounce, Target: string(room), Lines: []chat.Line{chat.Line{}.Text(text)}})
		if err != nil {
			t.Fatal(err)
		}
		return id.EventID(ev)
	}
	send(private, "announce/share/0", "before the new device")
	alice.WaitMsg(t, "the first line", func(e *event.Event) bool { return mxtest.Body(e) == "before the new device" })

	// Alice logs in on a new device and has not verified it yet.
	alice2 := srv.Observe(ctx, t, aliceUser)
	dev2 := alice2.Client.DeviceID
	waitFor(t, "the bot to learn of alice's new device", 30*time.Second, func() bool {
		devs, err := tr.crypt.Machine().CryptoStore.GetDevices(ctx, aliceUser.ID)
		return err == nil && devs[dev2] != nil
	})

	secret := send(private, "announce/share/1", "embargoed: CVE-2099-0001 details")
	alice.WaitMsg(t, "the embargoed line on the signed device", func(e *event.Event) bool { return e.ID == secret })
	note := alice.WaitMsg(t, "the note about the unsigned device", func(e *event.Event) bool {
		return e.RoomID == private && strings.Contains(mxtest.Body(e), string(dev2))
	})
	if b := mxtest.Body(note); !strings.Contains(b, string(aliceUser.ID)) || !strings.Contains(b, "has not verified it") {
		t.Errorf("note = %q, want it to name the user, the device and why", b)
	}
	withheld := waitWithheld(ctx, t, alice2, private, secret)
	if withheld != event.RoomKeyWithheldUnverified {
		t.Errorf("the unsigned device was told %q, want %q", withheld, event.RoomKeyWithheldUnverified)
	}
	if n := alice2.Count(func(e *event.Event) bool { return e.ID == secret }); n != 0 {
		t.Errorf("the unsigned device decrypted the embargoed line")
	}

	// A public room: every device gets the key.
	open := send(public, "announce/share/2", "public line")
	alice2.WaitMsg(t, "the public line on the unsigned device", func(e *event.Event) bool { return e.ID == open })

	// A reload makes the public room private: its next line uses a new
	// room key, which the unsigned device does not get.
	made := *cfg
	made.Rooms = []Room{{ID: string(private), Private: true}, {ID: string(public), Private: true}}
	if _, err := tr.ReloadChannels(&made); err != nil {
		t.Fatal(err)
	}
	closed := send(public, "announce/share/5", "embargoed in the room made private")
	alice.WaitMsg(t, "the line in the room made private", func(e *event.Event) bool { return e.ID == closed })
	if code := waitWithheld(ctx, t, alice2, public, closed); code != event.RoomKeyWithheldUnverified {
		t.Errorf("in the room made private the unsigned device was told %q, want %q", code, event.RoomKeyWithheldUnverified)
	}

	// Another private line: no second note about the same device.
	again := send(private, "announce/share/3", "embargoed again")
	alice.WaitMsg(t, "the second embargoed line", func(e *event.Event) bool { return e.ID == again })

	// Alice verifies the new device: the next private line reaches it.
	if err := alice.Verify(ctx, dev2); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the bot to see alice's new device signed", 30*time.Second, func() bool {
		mach := tr.crypt.Machine()
		devs, err := mach.CryptoStore.GetDevices(ctx, aliceUser.ID)
		if err != nil || devs[dev2] == nil {
			return false
		}
		trust, _ := mach.ResolveTrustContext(ctx, devs[dev2])
		return trust >= id.TrustStateCrossSignedTOFU
	})
	after := send(private, "announce/share/4", "embargoed after verification")
	alice2.WaitMsg(t, "the line on the newly verified device", func(e *event.Event) bool { return e.ID == after })
	if n := alice.Count(func(e *event.Event) bool {
		return e.RoomID == private && strings.Contains(mxtest.Body(e), string(dev2))
	}); n != 1 {
		t.Errorf("the room was told %d times about device %s, want once", n, dev2)
	}
}

// waitWithheld waits until o knows why it did not get the key of event ev
// in room, and returns the code.
func waitWithheld(ctx context.Context, t *testing.T, o *mxtest.Observer, room id.RoomID, ev id.EventID) event.RoomKeyWithheldCode {
	t.Helper()
	raw, err := o.Client.GetEvent(ctx, room, ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Content.ParseRaw(raw.Type); err != nil {
		t.Fatal(err)
	}
	enc, ok := raw.Content.Parsed.(*event.EncryptedEventContent)
	if !ok {
		t.Fatalf("event %s is %s, not encrypted", ev, raw.Type)
	}
	var code event.RoomKeyWithheldCode
	waitFor(t, "the withheld notice on the unsigned device", 30*time.Second, func() bool {
		w, err := o.Machine().CryptoStore.GetWithheldGroupSession(ctx, room, enc.SessionID)
		if err != nil || w == nil {
			return false
		}
		code = w.Code
		return true
	})
	if _, err := o.Machine().DecryptMegolmEvent(ctx, raw); !errors.Is(err, crypto.ErrGroupSessionWithheld) {
		t.Errorf("decrypting on the unsigned device: %v, want the session withheld", err)
	}
	return code
}

// TestCrossSigningWithAccessToken: with an access token and no password,
// Dendrite refuses to publish the cross-signing keys (it asks for the
// password); the bot says what to do, runs unverified, and keeps the
// recovery key it wrote. Started again with the password beside the token,
// it publishes the keys with that same recovery key and signs its device.
func TestCrossSigningWithAccessToken(t *testing.T) {
	srv := mxtest.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	bot := srv.NewUser(ctx, t, "tokenbot")
	token := srv.Login(ctx, t, bot).AccessToken
	obs := srv.Observe(ctx, t, srv.NewUser(ctx, t, "observer"))
	room := obs.CreateRoom(ctx, t, mxtest.RoomSpec{Encrypted: true, Invite: []id.UserID{bot.ID}})
	stateDir := t.TempDir()
	run := func(cfg *Config) (*Transport, *logBuffer, id.DeviceID) {
		logs := &logBuffer{}
		tr, err := New(cfg, Options{Logger: slog.New(slog.NewTextHandler(logs, nil)), StateDir: stateDir, Version: "test", RetryMax: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		r := start(t, tr)
		r.waitJoined(t)
		tr.mu.Lock()
		dev := tr.cli.DeviceID
		tr.mu.Unlock()
		if cfg.Password != "" {
			checkSigned(ctx, t, obs, bot.ID, tr)
		}
		r.stop()
		return tr, logs, dev
	}
	cfg := &Config{Homeserver: srv.URL, UserID: string(bot.ID), AccessToken: config.Secret(token), Encryption: true, Rooms: []Room{{ID: string(room)}}}
	tr, logs, dev := run(cfg)
	if logs.count("add password_file (or password_env) to [matrix] beside the access token") != 1 {
		t.Errorf("the log does not say what to do; log:\n%s", logs.buf.String())
	}
	keys, err := mxtest.Keys(ctx, obs.Client, bot.ID, dev)
	if err != nil || keys.Master != "" {
		t.Fatalf("keys after a start without the password: %+v (%v), want none published", keys, err)
	}
	first, err := readRecoveryKey(tr.recoveryPath)
	if err != nil {
		t.Fatalf("the recovery key was not kept: %v", err)
	}

	withPassword := *cfg
	withPassword.Password = config.Secret(bot.Password)
	tr2, _, dev2 := run(&withPassword)
	if again, err := readRecoveryKey(tr2.recoveryPath); err != nil || again != first {
		t.Errorf("the recovery key changed (%v): the one written first must stay valid", err)
	}
	if dev2 != dev {
		t.Errorf("the token's device changed from %s to %s", dev, dev2)
	}
	// The kept key is the account's secret storage key.
	storage := ssss.NewSSSSMachine(srv.Login(ctx, t, bot))
	keyID, keyData, err := storage.GetDefaultKeyData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyData.VerifyRecoveryKey(keyID, first); err != nil {
		t.Errorf("the recovery key file does not open the account's secret storage: %v", err)
	}
}
