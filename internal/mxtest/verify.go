// SPDX-License-Identifier: GPL-3.0-or-later

package mxtest

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"maunium.net/go/mautrix/crypto/verificationhelper"
	"maunium.net/go/mautrix/event"
	"maunium.net/go/mautrix/id"
)

// sasFlow is the observer's side of emoji verifications (verificationhelper
// callbacks): it starts the comparison once the other side is ready and
// reports the emoji and the end of each transaction.
type sasFlow struct {
	o  *Observer
	mu sync.Mutex
	// by transaction: the emoji shown ("🐶 Dog, ..."), the end (nil: done)
	emoji map[id.VerificationTransactionID]chan string
	end   map[id.VerificationTransactionID]chan error
}

func (f *sasFlow) chans(txn id.VerificationTransactionID) (chan string, chan error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.emoji[txn] == nil {
		f.emoji[txn], f.end[txn] = make(chan string, 1), make(chan error, 1)
	}
	return f.emoji[txn], f.end[txn]
}

func (f *sasFlow) VerificationRequested(context.Context, id.VerificationTransactionID, id.UserID, id.DeviceID) {
}

func (f *sasFlow) VerificationReady(ctx context.Context, txn id.VerificationTransactionID, _ id.DeviceID, sas, _ bool, _ *verificationhelper.QRCode) {
	_, end := f.chans(txn)
	go func() {
		if err := f.o.vh.StartSAS(ctx, txn); err != nil {
			end <- err
		}
	}()
}

func (f *sasFlow) ShowSAS(_ context.Context, txn id.VerificationTransactionID, emojis []rune, descriptions []string, _ []int) {
	shown := make([]string, len(emojis))
	for i, e := range emojis {
		shown[i] = string(e) + " " + descriptions[i]
	}
	emoji, _ := f.chans(txn)
	emoji <- strings.Join(shown, ", ")
}

func (f *sasFlow) VerificationCancelled(_ context.Context, txn id.VerificationTransactionID, code event.VerificationCancelCode, reason string) {
	_, end := f.chans(txn)
	end <- fmt.Errorf("verification cancelled: %s: %s", code, reason)
}

func (f *sasFlow) VerificationDone(_ context.Context, txn id.VerificationTransactionID, _ event.VerificationMethod) {
	_, end := f.chans(txn)
	end <- nil
}

// VerifyUser verifies user with emoji, as a person does in Element: it
// asks, the other side accepts, the emoji comparison starts, compare gets
// the emoji shown ("🐶 Dog, 🔑 Key, ...") and says whether they match what
// the other side shows; on true the observer confirms and waits for the
// end. Afterwards the observer trusts user (its user-signing key signed
// their master key).
func (o *Observer) VerifyUser(ctx context.Context, user id.UserID, compare func(emoji string) bool) error {
	txn, err := o.vh.StartVerification(ctx, user)
	if err != nil {
		return fmt.Errorf("failed to ask %s for verification: %w", user, err)
	}
	emoji, end := o.sas.chans(txn)
	select {
	case shown := <-emoji:
		if !compare(shown) {
			_ = o.vh.CancelVerification(ctx, txn, event.VerificationCancelCodeSASMismatch, "the emoji do not match")
			return fmt.Errorf("the emoji %q do not match", shown)
		}
	case err := <-end:
		if err == nil {
			err = fmt.Errorf("verification ended before the emoji")
		}
		return err
	case <-ctx.Done():
		return fmt.Errorf("no emoji to compare: %w", ctx.Err())
	}
	if err := o.vh.ConfirmSAS(ctx, txn); err != nil {
		if !strings.Contains(err.Error(), "master keys do not match") {
			return fmt.Errorf("failed to confirm the emoji: %w", err)
		}
		// mautrix v0.32's ConfirmSAS, when the other side's MAC came
		// first (a bot confirms at once), checks the other user's master
		// key against our own. Their MACs were verified already; sign
		// their master key as it meant to.
		keys, kerr := o.Machine().GetCrossSigningPublicKeys(ctx, user)
		if kerr != nil || keys == nil {
			return fmt.Errorf("failed to read %s's master key: %v", user, kerr)
		}
		if err := o.Machine().SignUser(ctx, user, keys.MasterKey); err != nil {
			return fmt.Errorf("failed to sign %s's master key: %w", user, err)
		}
		return nil
	}
	select {
	case err := <-end:
		return err
	case <-ctx.Done():
		return fmt.Errorf("verification did not finish: %w", ctx.Err())
	}
}
