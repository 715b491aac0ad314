// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/policy"
)

// freshFields are what auto-CC decides from, read from Bugzilla right
// before it writes: who may read the bug (groups), whether it is open and
// still in a watch, and who is CC'd already.
var freshFields = []string{"id", "groups", "status", "resolution", "product", "component", "cc"}

// readFresh reads bugs as Bugzilla has them now, one search by id per 200
// (one request for an auto-CC pass). ok is false when the read went
// without the key (Bugzilla refuses it): a restricted bug is then missing
// like a gone one, and nothing may be decided from it.
func (a *AutoCC) readFresh(ctx context.Context, ids []int) (fresh map[int]*bugzilla.Bug, ok bool, err error) {
	r, err := a.bz.ReadIDs(ctx, ids, freshFields)
	if err != nil {
		return nil, false, fmt.Errorf("failed to read bugs %v before auto-CC: %w", ids, err)
	}
	if r.Anonymous {
		return nil, false, nil
	}
	fresh = make(map[int]*bugzilla.Bug, len(r.Bugs))
	for i := range r.Bugs {
		fresh[r.Bugs[i].ID] = &r.Bugs[i]
	}
	return fresh, true, nil
}

// freshen returns the mirror's copy of a bug with what a fresh read says
// of the fields auto-CC decides from, or why nothing may be CC'd onto it
// now (not visible to ksecbot, closed, moved out of the watches). The
// mirror's copy still gives the fields the trees are matched on. A fresh
// copy that disagrees with the mirror asks for a reconciliation.
func (a *AutoCC) freshen(cfg *config.Config, mirrored *bugzilla.Bug, fresh *bugzilla.Bug) (*bugzilla.Bug, string) {
	if fresh == nil {
		a.stale()
		return nil, "not visible to ksecbot"
	}
	b := *mirrored
	b.Groups, b.Status, b.Resolution, b.CC = fresh.Groups, fresh.Status, fresh.Resolution, fresh.CC
	b.Product, b.Component = fresh.Product, fresh.Component
	if policy.Restricted(&b) != policy.Restricted(mirrored) || b.Product != mirrored.Product || b.Component != mirrored.Component || b.Open() != mirrored.Open() {
		a.stale()
	}
	switch {
	case !b.Open():
		return nil, "closed"
	case !inWatches(cfg, &b):
		return nil, "moved out of the watches"
	}
	return &b, ""
}

// stale asks for a reconciliation: the mirror is behind Bugzilla.
func (a *AutoCC) stale() {
	if a.reconcile != nil {
		a.reconcile()
	}
}
