// SPDX-License-Identifier: GPL-3.0-or-later

// Connecting: the client, login with the access token, a stored session
// or the password (keeping the device), the syncer and its handlers, and
// end-to-end encryption with its pickle key.

package matrix

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto/cryptohelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"

	"github.com/ksecbot/ksecbot/transport"
)

// setup logs in, sets up the syncer and, when configured, encryption.
func (t *Transport) setup(ctx context.Context, st *state, in transport.Inbox) (*mautrix.Client, *cryptohelper.CryptoHelper, error) {
	cli, err := mautrix.NewClient(t.cfg.Homeserver, "", "")
	if err != nil {
		return nil, nil, permanent(fmt.Errorf("failed to create matrix client: %w", err))
	}
	cli.DefaultHTTPRetries = 4 // 429 and 5xx honour Retry-After; network errors back off
	cli.DefaultHTTPBackoff = time.Second
	cli.MaxHTTPBackoff = time.Minute
	cli.UserAgent = "ksecbot/" + t.opts.Version
	cli.Log = mautrixLogger(t.log)
	cli.Client.Transport = limitWatch{next: http.DefaultTransport, t: t}
	cli.Store = st
	lost := t.cryptoStoreLost()
	if err := t.login(ctx, cli, st, lost); err != nil {
		return nil, nil, err
	}
	if lost {
		// The room state (members, encryption) lives in the crypto
		// store: sync from the start to fill it again.
		if err := st.SaveNextBatch(ctx, cli.UserID, ""); err != nil {
			return nil, nil, permanent(err)
		}
	}
	t.mu.Lock()
	t.userID = cli.UserID
	t.mu.Unlock()
	t.setProfile(ctx, cli, st)

	sy := &syncer{DefaultSyncer: mautrix.NewDefaultSyncer(), t: t}
	cli.Syncer = sy
	sy.OnSync(t.onSync(cli))
	var helper *cryptohelper.CryptoHelper
	if t.cfg.Encryption {
		key, err := t.pickleKey()
		if err != nil {
			return nil, nil, misconfigured(err)
		}
		helper, err = cryptohelper.NewCryptoHelper(cli, key, t.cryptoPath)
		if err != nil {
			return nil, nil, permanent(fmt.Errorf("failed to set up matrix encryption: %w", err))
		}
		helper.DecryptErrorCallback = t.onDecryptError
		if err := helper.Init(ctx); err != nil {
			_ = helper.Close()
			return nil, nil, fmt.Errorf("failed to start matrix encryption: %w", err)
		}
		rc := newRoomCrypto(helper, t)
		cli.Crypto = rc
		t.mu.Lock()
		t.crypt = rc
		t.mu.Unlock()
		if err := t.crossSign(ctx, helper.Machine()); err != nil {
			t.log.Error("the bot's device is not verified by its owner (cross-signing); Element shows its messages with a red shield", "err", err)
		}
		if err := t.startVerifier(ctx, cli, helper.Machine()); err != nil {
			t.log.Warn("admins cannot verify the bot with emoji", "err", err)
		}
	}
	if cli.StateStore == nil {
		// Without encryption nothing keeps the rooms' members; Send needs
		// them (members.go).
		cli.StateStore = mautrix.NewMemoryStateStore()
		sy.OnEvent(cli.StateStoreSyncHandler)
	}
	sy.OnEventType(event.EventMessage, t.onMessage(in))
	sy.OnEventType(event.EventRedaction, t.onRedaction(in))
	return cli, helper, nil
}

// login uses the access token, or a stored session, or the password with the
// stored device ID. The session is kept so that restarts keep the device
// (crypto identity) and the scope of transaction IDs. lost says that the
// crypto store is missing: a device whose keys the homeserver still holds
// cannot be used again, so a password login goes to a new device (and
// removes the old one), and a token of such a device is refused with what
// to do.
func (t *Transport) login(ctx context.Context, cli *mautrix.Client, st *state, lost bool) error {
	t.mu.Lock()
	token := t.token
	t.mu.Unlock()
	if tok := token.Reveal(); tok != "" {
		cli.AccessToken = tok
		who, err := cli.Whoami(ctx)
		if err != nil {
			if errors.Is(err, mautrix.MUnknownToken) || errors.Is(err, mautrix.MForbidden) {
				return misconfigured(fmt.Errorf("matrix access token rejected: %w", err))
			}
			return fmt.Errorf("failed to check the matrix access token: %w", err)
		}
		if t.cfg.UserID != "" && who.UserID != id.UserID(t.cfg.UserID) {
			return misconfigured(fmt.Errorf("matrix access token belongs to %s, not %s", who.UserID, t.cfg.UserID))
		}
		// device_id: the token's device, for servers whose whoami does
		// not say; a token of another device is a configuration mistake.
		if want := id.DeviceID(t.cfg.DeviceID); want != "" && who.DeviceID != "" && who.DeviceID != want {
			return misconfigured(fmt.Errorf("matrix access token belongs to device %s, not matrix.device_id %s: remove device_id or use that device's token", who.DeviceID, want))
		} else if who.DeviceID == "" {
			who.DeviceID = want
		}
		cli.UserID, cli.DeviceID = who.UserID, who.DeviceID
		if lost {
			if has, err := deviceHasKeys(ctx, cli); err != nil {
				return err
			} else if has {
				return permanent(fmt.Errorf("the encryption store %s is missing, but the homeserver keeps the keys of the access token's device %s, and a device's keys cannot be replaced: "+
					"log in anew for a token of a new device (and delete the old device), or use password_file, with which ksecbot moves to a new device by itself", t.cryptoPath, cli.DeviceID))
			}
		}
		return nil
	}
	uid := id.UserID(t.cfg.UserID)
	skey := "session/" + string(uid)
	var old id.DeviceID // a device given up for a lost crypto store
	if tok, err := st.get(ctx, skey+"/token"); err != nil {
		return permanent(err)
	} else if tok != "" {
		cli.AccessToken = tok
		who, err := cli.Whoami(ctx)
		switch {
		case err == nil && who.UserID == uid && (t.cfg.DeviceID == "" || string(who.DeviceID) == t.cfg.DeviceID):
			cli.UserID, cli.DeviceID = who.UserID, who.DeviceID
			has := false
			if lost {
				if has, err = deviceHasKeys(ctx, cli); err != nil {
					return err
				}
			}
			if !has {
				return nil
			}
			old = cli.DeviceID
			t.log.Warn("the encryption store is missing but the device's keys are on the homeserver: logging in as a new device", "device_id", old, "crypto_store", t.cryptoPath)
		case err == nil || errors.Is(err, mautrix.MUnknownToken):
			t.log.Info("stored session is no longer valid, logging in again")
		default:
			return fmt.Errorf("failed to check the stored matrix session: %w", err)
		}
		cli.AccessToken = ""
	}
	device, err := st.get(ctx, skey+"/device")
	if err != nil {
		return permanent(err)
	}
	if old != "" {
		device = ""
	}
	if t.cfg.DeviceID != "" {
		device = t.cfg.DeviceID // device_id: log in as this device
	}
	if err := t.passwordLogin(ctx, cli, st, uid, device); err != nil {
		return err
	}
	if lost {
		// The device of device_id (or one a stale session named) may
		// still hold keys: remove it and log in again as a fresh one.
		if has, err := deviceHasKeys(ctx, cli); err != nil {
			return err
		} else if has {
			stale := cli.DeviceID
			t.log.Warn("the encryption store is missing but the device's keys are on the homeserver: removing the device and logging in again", "device_id", stale)
			if err := t.deleteDevice(ctx, cli, stale); err != nil {
				return fmt.Errorf("failed to remove device %s, whose keys the lost encryption store held: %w", stale, err)
			}
			if err := t.passwordLogin(ctx, cli, st, uid, device); err != nil {
				return err
			}
		}
	}
	if old != "" && old != cli.DeviceID {
		if err := t.deleteDevice(ctx, cli, old); err != nil {
			t.log.Warn("failed to remove the device whose encryption store was lost; remove it in a client's session list", "device_id", old, "err", err)
		} else {
			t.log.Info("removed the device whose encryption store was lost", "device_id", old, "new_device_id", cli.DeviceID)
		}
	}
	return nil
}

// passwordLogin logs in with the password as device (a new one when
// empty) and keeps the session.
func (t *Transport) passwordLogin(ctx context.Context, cli *mautrix.Client, st *state, uid id.UserID, device string) error {
	skey := "session/" + string(uid)
	localpart, _, _ := uid.Parse()
	resp, err := cli.Login(ctx, &mautrix.ReqLogin{
		Type:                     mautrix.AuthTypePassword,
		Identifier:               mautrix.UserIdentifier{Type: mautrix.IdentifierTypeUser, User: localpart},
		Password:                 t.secretPassword(),
		DeviceID:                 id.DeviceID(device),
		InitialDeviceDisplayName: "ksecbot " + t.opts.Version,
		StoreCredentials:         true,
	})
	if err != nil {
		if errors.Is(err, mautrix.MForbidden) || errors.Is(err, mautrix.MUserDeactivated) {
			return misconfigured(fmt.Errorf("matrix login as %s failed: %w", uid, err))
		}
		return fmt.Errorf("failed to log in to matrix: %w", err)
	}
	if err := st.set(ctx, skey+"/device", string(resp.DeviceID)); err != nil {
		return permanent(err)
	}
	if err := st.set(ctx, skey+"/token", resp.AccessToken); err != nil {
		return permanent(err)
	}
	return nil
}

// pickleKey returns the configured pickle key, or reads or creates the key
// file beside the state.
func (t *Transport) pickleKey() ([]byte, error) {
	if k := t.cfg.PickleKey.Reveal(); k != "" {
		return []byte(k), nil
	}
	b, err := os.ReadFile(t.picklePath)
	if err == nil {
		k := strings.TrimSpace(string(b))
		if k == "" {
			return nil, fmt.Errorf("matrix pickle key file %s is empty", t.picklePath)
		}
		return []byte(k), nil
	}
	if !errors.Is(err, os.ErrNotExist) || t.cfg.PickleKeyFile != "" {
		return nil, fmt.Errorf("failed to read the matrix pickle key: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("failed to generate a pickle key: %w", err)
	}
	k := hex.EncodeToString(raw)
	if err := os.MkdirAll(filepath.Dir(t.picklePath), 0o700); err != nil {
		return nil, fmt.Errorf("failed to create the pickle key directory: %w", err)
	}
	f, err := os.OpenFile(t.picklePath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("failed to create the pickle key file: %w", err)
	}
	if _, err := f.WriteString(k + "\n"); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("failed to write the pickle key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("failed to write the pickle key file: %w", err)
	}
	t.log.Info("generated a new pickle key", "path", t.picklePath)
	return []byte(k), nil
}
