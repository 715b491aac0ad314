// SPDX-License-Identifier: GPL-3.0-or-later

// Package stats computes what !stats and /metrics report: reaction times
// (from bug creation to the first announcement, the first claim and each
// tree's first CC) and what the kernel CVE verdicts spared, from the store
// and one configuration's trees and renderer. It asks package policy which
// bugs a channel may count.
package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/config"
	"github.com/ksecbot/ksecbot/internal/quantile"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// Store is what the statistics read. *store.Store implements it.
type Store interface {
	ReactionTimes(ctx context.Context, since time.Time) (store.Durations, error)
	Bugs(ctx context.Context, f store.BugFilter) ([]bugzilla.Bug, int, error)
}

// Reaction is one row of reaction-time statistics.
type Reaction struct {
	Action      string // "announced", "claimed", "cc"
	Tree        string // for "cc"
	N           int
	Median, P90 time.Duration
}

// ReactionTimes computes the median and 90th percentile time from bug
// creation to the first announcement, the first claim and the first CC
// of each tree's logins, over the bugs created since.
func ReactionTimes(ctx context.Context, st Store, trees []config.Tree, since time.Time) ([]Reaction, error) {
	d, err := st.ReactionTimes(ctx, since)
	if err != nil {
		return nil, err
	}
	out := []Reaction{quantiles("announced", "", d.Announced), quantiles("claimed", "", d.FirstClaim)}
	for _, t := range trees {
		var all []time.Duration
		for login, ds := range d.CCByLogin {
			for _, l := range t.Bugzilla {
				if bugzilla.SameLogin(l, login) {
					all = append(all, ds...)
				}
			}
		}
		out = append(out, quantiles("cc", t.Name, all))
	}
	return out, nil
}

func quantiles(action, tree string, ds []time.Duration) Reaction {
	r := Reaction{Action: action, Tree: tree, N: len(ds)}
	r.Median, r.P90 = quantile.Of(ds)
	return r
}

// CVEQuiet is what the kernel CVE verdicts changed in announcements over
// a period: of the bugs created then that named a kernel CVE with a
// record, how many pinged fewer trees because the others were fixed or
// unaffected, and how many tree highlights that spared.
type CVEQuiet struct {
	Bugs, WithCVE, Fewer, Spared int
}

// CVEQuietness counts, from the mirror, the bugs created since and what
// [kernel_cve] highlight = "affected" spared on them, as the channel may
// count them: a bug the channel may not see in full (a restricted bug in
// a public channel) is not counted. ok is false when the renderer has no
// CVE annotator ([kernel_cve] off).
func CVEQuietness(ctx context.Context, st Store, r *announce.Renderer, since time.Time, ch chat.Channel) (q CVEQuiet, ok bool, err error) {
	if r == nil || r.CVE == nil {
		return q, false, nil
	}
	bugs, _, err := st.Bugs(ctx, store.BugFilter{})
	if err != nil {
		return q, true, fmt.Errorf("kernel CVE statistics: %w", err)
	}
	for i := range bugs {
		if bugs[i].CreationTime.Before(since) {
			continue
		}
		// counted as the bug's announcement would show it here
		f, full := r.Policy.See(&bugs[i], ch, policy.Announce).Full()
		if !full {
			continue
		}
		q.Bugs++
		note, ok := r.CVE.AnnotateBug(f)
		if !ok {
			continue
		}
		q.WithCVE++
		spared := 0
		for _, h := range f.Highlights() {
			if note.Quiet[strings.ToLower(h.Tree)] {
				spared++
			}
		}
		if spared > 0 {
			q.Fewer++
			q.Spared += spared
		}
	}
	return q, true, nil
}
