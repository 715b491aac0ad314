// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"slices"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/policy"
)

// heldPass is what the last releaseHeldAutoCC pass found, so that the
// next one (every 5 s) costs nothing while nothing it depends on changed.
// Only the auto-CC loop uses it.
type heldPass struct {
	clean   bool   // it ran to the end with nothing to retry
	empty   bool   // nothing was held back
	version uint64 // store.MirrorVersion before it read the bugs
}

// releaseHeldAutoCC adds the held-back logins to the bugs that have become
// public (once; decided from a fresh read, not the mirror alone), and
// forgets those of bugs closed or moved out meanwhile. It reads the
// held records and their bugs only when something may have changed since
// the last pass: logins held back since, the mirror (a bug made public or
// closed), or a failure to retry.
func (a *AutoCC) releaseHeldAutoCC(ctx context.Context) {
	if !a.bz.HasAPIKey() {
		return
	}
	version := a.store.MirrorVersion()
	if last := a.held; last.clean && (last.empty || last.version == version) {
		return
	}
	held, err := a.store.HeldAutoCC(ctx)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("failed to read held-back auto-CC", "err", err)
		}
		return
	}
	retry := false
	ids := make([]int, 0, len(held))
	for id := range held {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	// The mirror picks the bugs that may be public now; a fresh read of
	// them (one search by id) decides.
	mirrored := map[int]*bugzilla.Bug{}
	var public []int
	for _, id := range ids {
		bug, ok, err := a.store.Bug(ctx, id)
		switch {
		case err != nil:
			retry = true
		case ok && policy.Secret(bug):
			// until the mirror says otherwise
		case !ok || !bug.Open():
			if err := a.store.ReleaseHeldAutoCC(ctx, id); err != nil { // never write to a closed bug
				retry = true
			}
		default:
			mirrored[id] = bug
			public = append(public, id)
		}
	}
	var fresh map[int]*bugzilla.Bug
	if len(public) > 0 {
		var ok bool
		var err error
		if fresh, ok, err = a.readFresh(ctx, public); err != nil || !ok {
			if err != nil {
				a.log.Warn("held-back auto-CC: could not read the bugs again, will retry", "err", err)
			}
			public, retry = nil, true
		}
	}
	cfg := a.current().Config() // one configuration for the whole pass
	for _, id := range public {
		bug, why := a.freshen(cfg, mirrored[id], fresh[id])
		switch {
		case why == "not visible to ksecbot":
			continue // kept: it may come back
		case bug == nil:
			if err := a.store.ReleaseHeldAutoCC(ctx, id); err != nil { // closed or moved out: never written to
				retry = true
			}
			continue
		case policy.Restricted(bug):
			continue // restricted again: the mirror will follow
		}
		if add := notCCd(held[id], bug); len(add) > 0 {
			res, err := a.bz.Update(ctx, id, bugzilla.Update{CCAdd: add})
			if err != nil && !permanentCCError(err) {
				a.log.Warn("held-back auto-CC failed, will retry", "bug", id, "err", err)
				retry = true
				continue
			}
			if err != nil {
				a.log.Error("held-back auto-CC failed permanently", "bug", id, "logins", add, "err", err)
			} else {
				a.log.Info("held-back auto-CC done: the bug is public", "bug", id, "added", res.Changes["cc"].Added)
				a.mirrorUpdate(ctx, mirrored[id], res)
			}
		}
		if err := a.store.ReleaseHeldAutoCC(ctx, id); err != nil {
			a.log.Warn("failed to record the held-back auto-CC", "bug", id, "err", err)
			retry = true
		}
	}
	a.held = heldPass{clean: !retry && ctx.Err() == nil, empty: len(held) == 0, version: version}
}
