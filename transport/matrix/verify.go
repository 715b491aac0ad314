// SPDX-License-Identifier: GPL-3.0-or-later

// Verifying the bot user: a user in [matrix] admins may verify the bot
// with emoji (SAS) from Element, once, so their clients show the bot with
// a green shield and warn if its identity ever changes. The bot writes
// the emoji to its log for the operator to compare, and confirms its
// side; the person confirms theirs after comparing (docs/matrix.md,
// "Device trust").

package matrix

import (
	"context"
	"strings"

	"maunium.net/go/mautrix"
	"maunium.net/go/mautrix/crypto"
	"maunium.net/go/mautrix/crypto/verificationhelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// verifier answers verification requests (verificationhelper callbacks).
type verifier struct {
	t  *Transport
	vh *verificationhelper.VerificationHelper
}

// startVerifier lets [matrix] admins verify the bot with emoji.
func (t *Transport) startVerifier(ctx context.Context, cli *mautrix.Client, mach *crypto.OlmMachine) error {
	v := &verifier{t: t}
	v.vh = verificationhelper.NewVerificationHelper(cli, mach, nil, v, false, false, true)
	return v.vh.Init(ctx)
}

// VerificationRequested accepts a request from an admin and turns down any
// other: the bot trusts whom it verifies (it signs their key).
func (v *verifier) VerificationRequested(ctx context.Context, txn id.VerificationTransactionID, from id.UserID, dev id.DeviceID) {
	if !v.t.admins[from] {
		v.t.log.Info("turned down a verification request from a user not in [matrix] admins", "from", from, "device_id", dev)
		go func() {
			if err := v.vh.CancelVerification(ctx, txn, event.VerificationCancelCodeUser, "ksecbot verifies only with the users in its [matrix] admins"); err != nil {
				v.t.log.Debug("failed to turn down a verification request", "from", from, "err", err)
			}
		}()
		return
	}
	v.t.log.Info("verification requested by an admin; accepting (emoji)", "from", from, "device_id", dev)
	go func() {
		if err := v.vh.AcceptVerification(ctx, txn); err != nil {
			v.t.log.Warn("failed to accept a verification request", "from", from, "err", err)
		}
	}()
}

// VerificationReady implements verificationhelper.RequiredCallbacks: the
// other side starts the emoji comparison.
func (v *verifier) VerificationReady(context.Context, id.VerificationTransactionID, id.DeviceID, bool, bool, *verificationhelper.QRCode) {
}

// ShowSAS writes the emoji to the log and confirms the bot's side.
func (v *verifier) ShowSAS(ctx context.Context, txn id.VerificationTransactionID, emojis []rune, descriptions []string, _ []int) {
	shown := make([]string, len(emojis))
	for i, e := range emojis {
		shown[i] = string(e) + " " + descriptions[i]
	}
	v.t.log.Info("emoji verification: the person verifying the bot must see these emoji, in this order, before pressing \"They match\"", "transaction", txn, "emoji", strings.Join(shown, ", "))
	go func() {
		if err := v.vh.ConfirmSAS(ctx, txn); err != nil {
			v.t.log.Warn("failed to confirm an emoji verification", "transaction", txn, "err", err)
		}
	}()
}

// VerificationCancelled implements verificationhelper.RequiredCallbacks.
func (v *verifier) VerificationCancelled(_ context.Context, txn id.VerificationTransactionID, code event.VerificationCancelCode, reason string) {
	v.t.log.Info("verification cancelled", "transaction", txn, "code", code, "reason", reason)
}

// VerificationDone implements verificationhelper.RequiredCallbacks.
func (v *verifier) VerificationDone(_ context.Context, txn id.VerificationTransactionID, method event.VerificationMethod) {
	v.t.log.Info("verification done", "transaction", txn, "method", method)
}
