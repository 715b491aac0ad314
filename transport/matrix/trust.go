// SPDX-License-Identifier: GPL-3.0-or-later

// Device trust: the bot's cross-signing keys (master, self-signing,
// user-signing) sign its own device, so clients show the device as
// verified by its owner; the private keys live in the account's secret
// storage (SSSS), opened by the recovery key in [matrix]
// recovery_key_file. docs/matrix.md, "Device trust", says how it looks to an
// operator and a room admin.

package matrix

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/signatures"
	"maunium.net/go/mautrix/crypto/ssss"
	"maunium.net/go/mautrix/crypto/utils"
	"maunium.net/go/mautrix/id"
)

// errNeedsPassword is returned when the homeserver wants the account's
// password to publish cross-signing keys and none is configured.
var errNeedsPassword = errors.New("the homeserver asks for the account's password to publish the bot's cross-signing keys")

// crossSign makes sure the bot's device is signed by its self-signing
// key. With no cross-signing keys on the account it creates them, keeps
// their private keys in secret storage behind a new recovery key (written
// to the recovery key file first) and signs the device; with keys but an
// unsigned device (a new device after a lost crypto store) it opens the
// secret storage with the recovery key file and signs the device. It
// returns an error saying what to do when it cannot; the bot then works
// with an unverified device.
func (t *Transport) crossSign(ctx context.Context, mach *crypto.OlmMachine) error {
	cli := mach.Client
	own, err := ownKeys(ctx, cli)
	if err != nil {
		return err
	}
	path := t.recoveryPath
	switch {
	case own.deviceSigned:
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			t.log.Warn("the bot's device is cross-signed, but the recovery key file is missing: a new device (after losing the crypto store) could not be signed; put the account's recovery key there", "recovery_key_file", path)
		}
		t.log.Debug("device is cross-signed", "device_id", cli.DeviceID)
		return nil
	case own.master != "":
		key, err := readRecoveryKey(path)
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("the account has cross-signing keys but the recovery key file %s does not exist: put the account's recovery key there (Element: Settings, Security & Privacy, Secure Backup) and restart; the device stays unverified until then", path)
		}
		if err != nil {
			return err
		}
		if err := mach.VerifyWithRecoveryKey(ctx, key); err != nil {
			return fmt.Errorf("the recovery key in %s did not sign the device (%w): if the account's cross-signing was reset elsewhere, put its new recovery key there", path, err)
		}
		t.log.Info("device signed with the cross-signing keys from secret storage", "device_id", cli.DeviceID, "recovery_key_file", path)
		return nil
	}
	return t.createCrossSigning(ctx, mach, path)
}

// createCrossSigning creates the account's cross-signing keys and secret
// storage. The recovery key is on disk before anything is uploaded, so a
// crash or a refused upload never leaves keys nobody can open: the next
// start uses the same recovery key.
func (t *Transport) createCrossSigning(ctx context.Context, mach *crypto.OlmMachine, path string) error {
	var key *ssss.Key
	recovery, err := readRecoveryKey(path)
	switch {
	case err == nil:
		// A key from an earlier start whose upload did not finish.
		if key, err = ssss.WrapKey(utils.DecodeBase58RecoveryKey(recovery), nil); err != nil {
			return fmt.Errorf("failed to use the recovery key in %s: %w", path, err)
		}
	case errors.Is(err, os.ErrNotExist):
		if key, err = ssss.NewKey(""); err != nil {
			return fmt.Errorf("failed to make a recovery key: %w", err)
		}
		if err := writeRecoveryKey(path, key.RecoveryKey()); err != nil {
			return err
		}
		t.log.Info("wrote the recovery key of the bot's cross-signing keys; keep a copy of it", "recovery_key_file", path)
	default:
		return err
	}
	if err := mach.SSSS.SetKeyData(ctx, key.ID, key.Metadata); err != nil {
		return fmt.Errorf("failed to store the secret storage key: %w", err)
	}
	keys, err := mach.GenerateCrossSigningKeys()
	if err != nil {
		return err
	}
	if err := mach.UploadCrossSigningKeysToSSSS(ctx, key, keys); err != nil {
		return fmt.Errorf("failed to put the cross-signing keys in secret storage: %w", err)
	}
	if err := mach.PublishCrossSigningKeys(ctx, keys, t.passwordAuth(mach.Client.UserID)); err != nil {
		return t.publishProblem(err, path)
	}
	if err := mach.SSSS.SetDefaultKeyID(ctx, key.ID); err != nil {
		return fmt.Errorf("failed to make the recovery key the default of secret storage: %w", err)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return fmt.Errorf("failed to sign the bot's device: %w", err)
	}
	if err := mach.SignOwnMasterKey(ctx); err != nil {
		return fmt.Errorf("failed to sign the bot's master key: %w", err)
	}
	t.log.Info("created cross-signing keys and signed the device", "device_id", mach.Client.DeviceID, "master_key", keys.MasterKey.PublicKey())
	return nil
}

// publishProblem explains a refused upload of the cross-signing keys.
func (t *Transport) publishProblem(err error, path string) error {
	var he mautrix.HTTPError
	unauthorized := errors.As(err, &he) && he.IsStatus(http.StatusUnauthorized)
	switch {
	case unauthorized && t.secretPassword() == "":
		return fmt.Errorf("%w: add password_file (or password_env) to [matrix] beside the access token for one start, "+
			"or set up cross-signing for the bot's account in Element (log in as the bot, Settings, Security & Privacy, set up Secure Backup) "+
			"and put its recovery key in %s; the device stays unverified until then", errNeedsPassword, path)
	case unauthorized || errors.Is(err, mautrix.MForbidden):
		return fmt.Errorf("the homeserver refused the account's password when publishing the cross-signing keys (%w): check password_file; the device stays unverified until then", err)
	}
	return fmt.Errorf("failed to publish the cross-signing keys: %w", err)
}

// secretPassword returns the account's password as configured now, or "".
func (t *Transport) secretPassword() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.password.Reveal()
}

// passwordAuth answers the homeserver's password check (user-interactive
// auth) with the configured password; without one it ends the exchange.
func (t *Transport) passwordAuth(user id.UserID) mautrix.UIACallback {
	return func(r *mautrix.RespUserInteractive) any {
		pw := t.secretPassword()
		if pw == "" {
			return nil
		}
		return &mautrix.ReqUIAuthLogin{
			BaseAuthData: mautrix.BaseAuthData{Type: mautrix.AuthTypePassword, Session: r.Session},
			User:         string(user),
			Password:     pw,
		}
	}
}

// ownCrossSigning is what the homeserver says of the bot's keys.
type ownCrossSigning struct {
	master       id.Ed25519
	selfSigning  id.Ed25519
	deviceSigned bool // the device carries a valid signature of selfSigning
}

// ownKeys asks the homeserver (not the crypto store's copy, which may be
// older) for the account's cross-signing keys and the device's signatures.
func ownKeys(ctx context.Context, cli *mautrix.Client) (ownCrossSigning, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{cli.UserID: mautrix.DeviceIDList{cli.DeviceID}}})
	if err != nil {
		return ownCrossSigning{}, fmt.Errorf("failed to query the bot's keys: %w", err)
	}
	var own ownCrossSigning
	if mk, ok := resp.MasterKeys[cli.UserID]; ok {
		own.master = mk.FirstKey()
	}
	if sk, ok := resp.SelfSigningKeys[cli.UserID]; ok {
		own.selfSigning = sk.FirstKey()
	}
	if dev, ok := resp.DeviceKeys[cli.UserID][cli.DeviceID]; ok && own.selfSigning != "" {
		own.deviceSigned, _ = signatures.VerifySignatureJSON(dev, cli.UserID, own.selfSigning.String(), own.selfSigning)
	}
	return own, nil
}

// readRecoveryKey reads a recovery key file (the key as Element shows it,
// spaces allowed). A missing file is an error wrapping os.ErrNotExist.
func readRecoveryKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		return "", fmt.Errorf("failed to read the recovery key file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if utils.DecodeBase58RecoveryKey(key) == nil {
		return "", fmt.Errorf("%s does not hold a Matrix recovery key (48 letters and digits in groups of four, as Element shows it)", path)
	}
	return key, nil
}

// writeRecoveryKey creates the recovery key file, readable by its owner
// only, and makes sure it is on disk; it never overwrites a file.
func writeRecoveryKey(path, key string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("failed to create the recovery key's directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("failed to create the recovery key file: %w", err)
	}
	_, err = f.WriteString(key + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("failed to write the recovery key file: %w", err)
	}
	return nil
}
