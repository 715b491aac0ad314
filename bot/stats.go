// SPDX-License-Identifier: GPL-3.0-or-later

package bot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/commands"
	"github.com/ksecbot/ksecbot/internal/quantile"
	"github.com/ksecbot/ksecbot/policy"
	"github.com/ksecbot/ksecbot/store"
)

// Stats is what !stats needs of the core (commands.Statistics): reaction
// times and what the kernel CVE verdicts spared, computed from the store
// and the configuration in effect.
type Stats struct{ settings *Settings }

// CVEQuiet is what the kernel CVE verdicts changed in announcements over
// a period (see commands.CVEQuiet, whose !stats reads it).
type CVEQuiet = commands.CVEQuiet

// CVEQuietness counts, from the mirror, the bugs created in the last days
// and what [kernel_cve] highlight = "affected" spared on them. Restricted
// bugs count only when private is true. ok is false when the feature is
// off.
func (st Stats) CVEQuietness(ctx context.Context, days int, private bool) (q CVEQuiet, ok bool, err error) {
	lv := st.settings.l()
	if lv.render == nil || lv.render.CVE == nil {
		return q, false, nil
	}
	bugs, _, err := st.settings.store.Bugs(ctx, store.BugFilter{})
	if err != nil {
		return q, true, fmt.Errorf("kernel CVE statistics: %w", err)
	}
	since := st.settings.now().Add(-time.Duration(days) * 24 * time.Hour)
	for i := range bugs {
		bug := &bugs[i]
		if bug.CreationTime.Before(since) || policy.Secret(bug) && !private {
			continue
		}
		q.Bugs++
		note, ok := lv.render.CVE.AnnotateBug(bug)
		if !ok {
			continue
		}
		q.WithCVE++
		spared := 0
		for _, h := range lv.render.Highlights(bug) {
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

// Reaction is one row of reaction-time statistics; the type belongs to
// !stats (package commands), which reads it through commands.Statistics.
type Reaction = commands.Reaction

// ReactionTimes computes median and p90 time from bug creation to the
// first announcement, the first claim and the first CC of each tree over
// the last days.
func (st Stats) ReactionTimes(ctx context.Context, days int) ([]Reaction, error) {
	d, err := st.settings.store.ReactionTimes(ctx, st.settings.now().Add(-time.Duration(days)*24*time.Hour))
	if err != nil {
		return nil, err
	}
	out := []Reaction{quantiles("announced", "", d.Announced), quantiles("claimed", "", d.FirstClaim)}
	for _, t := range st.settings.l().trees.All() {
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
