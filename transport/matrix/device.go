// SPDX-License-Identifier: GPL-3.0-or-later

// A lost crypto store: the device's identity keys are gone, and the
// homeserver keeps the old ones for the device ID, so the bot cannot go
// on as that device. With a password it logs in as a new device (and
// removes the old one); the recovery key then signs the new device.

package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/id"
)

// cryptoStoreLost reports whether encryption is on and its store does not
// exist yet: the first start, or a store that was lost.
func (t *Transport) cryptoStoreLost() bool {
	if !t.cfg.Encryption {
		return false
	}
	_, err := os.Stat(t.cryptoPath)
	return errors.Is(err, os.ErrNotExist)
}

// deviceHasKeys reports whether the homeserver holds identity keys for the
// client's device.
func deviceHasKeys(ctx context.Context, cli *mautrix.Client) (bool, error) {
	resp, err := cli.QueryKeys(ctx, &mautrix.ReqQueryKeys{DeviceKeys: mautrix.DeviceKeysRequest{cli.UserID: mautrix.DeviceIDList{cli.DeviceID}}})
	if err != nil {
		return false, fmt.Errorf("failed to query the device's keys: %w", err)
	}
	dev, ok := resp.DeviceKeys[cli.UserID][cli.DeviceID]
	return ok && len(dev.Keys) > 0, nil
}

// deleteDevice removes one of the bot's devices, answering the
// homeserver's password check. It is best effort: a device left behind
// only clutters the account's device list.
func (t *Transport) deleteDevice(ctx context.Context, cli *mautrix.Client, dev id.DeviceID) error {
	url := cli.BuildClientURL("v3", "devices", dev)
	body, err := cli.MakeFullRequest(ctx, mautrix.FullRequest{Method: http.MethodDelete, URL: url, RequestJSON: &mautrix.ReqDeleteDevice[any]{}})
	var he mautrix.HTTPError
	if err == nil || !errors.As(err, &he) || !he.IsStatus(http.StatusUnauthorized) {
		return err
	}
	var uia mautrix.RespUserInteractive
	if err := json.Unmarshal(body, &uia); err != nil {
		return fmt.Errorf("failed to read the homeserver's password check: %w", err)
	}
	auth := t.passwordAuth(cli.UserID)(&uia)
	if auth == nil {
		return errNeedsPassword
	}
	return cli.DeleteDevice(ctx, dev, &mautrix.ReqDeleteDevice[any]{Auth: auth})
}
