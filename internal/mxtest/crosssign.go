// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"fmt"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/signatures"
	"maunium.net/go/mautrix/id"
)

// crossSignFirst sets up the account's cross-signing and signs the
// device when the account has none yet; otherwise it leaves the new
// device unsigned.
func crossSignFirst(ctx context.Context, mach *crypto.OlmMachine, u User) error {
	keys, err := OwnKeys(ctx, mach.Client, mach.Client.DeviceID)
	if err != nil {
		return err
	}
	if keys.Master != "" {
		return nil
	}
	if _, _, err := mach.GenerateAndUploadCrossSigningKeysWithPassword(ctx, u.Password, ""); err != nil {
		return fmt.Errorf("failed to set up cross-signing for %s: %w", u.ID, err)
	}
	if err := mach.SignOwnDevice(ctx, mach.OwnIdentity()); err != nil {
		return fmt.Errorf("failed to sign %s's device: %w", u.ID, err)
	}
	if err := mach.SignOwnMasterKey(ctx); err != nil {
		return fmt.Errorf("failed to sign %s's master key: %w", u.ID, err)
	}
	return nil
}

// Machine returns the observer's crypto machine (e.g. to share room keys
// only with cross-signed devices: SendKeysMinTrust).
func (o *Observer) Machine() *crypto.OlmMachine { return o.helper.Machine() }

// Verify signs another device of the observer's own account with the
// account's self-signing key, as verifying a new session from an old one
// does. The observer must be the one that set up the cross-signing.
func (o *Observer) Verify(ctx context.Context, device id.DeviceID) error {
	mach := o.Machine()
	dev, err := mach.GetOrFetchDevice(ctx, o.Client.UserID, device)
	if err != nil {
		return fmt.Errorf("failed to fetch device %s: %w", device, err)
	}
	return mach.SignOwnDevice(ctx, dev)
}

// CrossSigning is what a homeserver's /keys/query says of an account's
// cross-signing and of one of its devices.
type CrossSigning struct {
	Master, SelfSigning, UserSigning id.Ed25519
	// MasterSignedBySelf: the self-signing key is signed by the master key.
	SelfSignedByMaster bool
	// DeviceSigned: the device carries a valid self-signing signature.
	DeviceSigned bool
}

// OwnKeys asks the homeserver, as cli, for the cross-signing keys of
// cli's account and whether device is signed by its self-signing key.
func OwnKeys(ctx context.Context, cli *mautrix.Client, device id.DeviceID) (CrossSigning, error) {
	return Keys(ctx, cli, cli.UserID, device)
}

// Keys is OwnKeys for any user.
func Keys(ctx context.Context, cli *mautrix.Client, user id.UserID, device id.DeviceID) (CrossSigning, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{user: mautrix.DeviceIDList{device}}})
	if err != nil {
		return CrossSigning{}, fmt.Errorf("failed to query the keys of %s: %w", user, err)
	}
	var cs CrossSigning
	if k, ok := resp.MasterKeys[user]; ok {
		cs.Master = k.FirstKey()
	}
	if k, ok := resp.UserSigningKeys[user]; ok {
		cs.UserSigning = k.FirstKey()
	}
	if k, ok := resp.SelfSigningKeys[user]; ok {
		cs.SelfSigning = k.FirstKey()
		if cs.Master != "" {
			cs.SelfSignedByMaster, _ = signatures.VerifySignatureJSON(k, user, cs.Master.String(), cs.Master)
		}
	}
	if dev, ok := resp.DeviceKeys[user][device]; ok && cs.SelfSigning != "" {
		cs.DeviceSigned, _ = signatures.VerifySignatureJSON(dev, user, cs.SelfSigning.String(), cs.SelfSigning)
	}
	return cs, nil
}
