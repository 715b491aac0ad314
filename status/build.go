// SPDX-License-Identifier: GPL-3.0-or-later

package status

import (
	"sort"
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

// Input is what Build reads: the mirror, the rules and the health as they
// are now.
type Input struct {
	Now       time.Time
	Days      int            // reaction-time window: 30 or 90
	Policy    *policy.Policy // visibility rules and the tree registry
	BugURL    func(id int) string
	SearchURL string
	// Bugs are the open bugs of the watches (Matches, as !pending reads
	// them) and the bugs created in the window, open or not, each with the
	// moments ksecbot acted on it.
	Bugs []store.BugTimes
	// Unclaimed reports whether a bug is still with the component's
	// default assignee (the rule !pending uses).
	Unclaimed func(*bugzilla.Bug) bool
	// CatchUp reports whether a bug was announced by a fresh database's
	// catch-up, long after its creation: its announcement says nothing of
	// reaction time. Nil: none was.
	CatchUp func(id int) bool
	// Exposure returns a tree's kernel CVE exposure; nil: no CVE data.
	Exposure func(tree config.Tree) *Exposure
	Health   Health
}

// MaxRows bounds the open bugs a tree's page lists (oldest first; the
// counts cover them all and Bugzilla's search has the rest), so a huge
// mirror costs neither memory in the page cache nor a huge page.
const MaxRows = 500

// public is the channel the page is judged as: anyone may read it.
var public = chat.Channel{Name: "status page"}

// Build judges every bug with the policy as a public channel and returns
// what the page shows.
func Build(in Input) Snapshot {
	s := Snapshot{Generated: in.Now, Days: in.Days, SearchURL: in.SearchURL, Health: in.Health}
	var all []config.Tree
	if in.Policy != nil && in.Policy.Trees != nil {
		all = in.Policy.Trees.All()
	}
	byName := make(map[string]*Tree, len(all))
	for _, t := range all {
		s.Trees = append(s.Trees, Tree{Name: t.Name, Unsupported: t.Unsupported})
	}
	for i := range s.Trees {
		byName[strings.ToLower(s.Trees[i].Name)] = &s.Trees[i]
	}
	for i := range in.Bugs {
		if !in.Bugs[i].Matches {
			continue
		}
		seen := in.Policy.See(&in.Bugs[i].Bug, public, policy.Describe)
		f, full := seen.Full()
		if !full {
			s.Restricted = append(s.Restricted, Withheld{ID: seen.ID(), URL: in.BugURL(seen.ID())})
			continue
		}
		b, matched := f.Bug(), f.Trees()
		claimed := in.Unclaimed != nil && !in.Unclaimed(b)
		for _, t := range matched {
			pt := byName[strings.ToLower(t.Name)]
			if pt == nil {
				continue
			}
			row := Bug{
				ID: b.ID, URL: in.BugURL(b.ID),
				Summary:  chat.Clean(b.Summary, 300),
				Severity: chat.Clean(b.Severity, 40),
				Grade:    announce.Grade(b.Whiteboard),
				Created:  b.CreationTime,
				Age:      announce.Age(in.Now.Sub(b.CreationTime)),
				Claimed:  claimed,
				CCd:      involved(b, t.Bugzilla),
			}
			pt.NOpen++
			if len(pt.Open) < MaxRows {
				pt.Open = append(pt.Open, row)
			}
			if !row.Claimed {
				pt.Unclaimed++
			}
			if !row.CCd {
				pt.NotCC++
			}
		}
	}
	sort.Slice(s.Restricted, func(i, j int) bool { return s.Restricted[i].ID < s.Restricted[j].ID })
	reactions(&s, in, all, byName)
	if in.Exposure != nil {
		for i, t := range all {
			s.Trees[i].Exposure = in.Exposure(t)
		}
	}
	return s
}

// involved reports whether one of the logins is the bug's assignee or in
// its CC list.
func involved(b *bugzilla.Bug, logins []string) bool {
	for _, l := range logins {
		if bugzilla.SameLogin(l, b.AssignedTo) {
			return true
		}
		for _, cc := range b.CC {
			if bugzilla.SameLogin(l, cc) {
				return true
			}
		}
	}
	return false
}

// Reaction series, in the order the page shows them.
var actions = []struct{ action, label string }{
	{"announced", "creation → announcement"},
	{"claimed", "creation → first claim"},
	{"cc", "creation → tree CC'd"},
}

// reactions fills each tree's weekly reaction times from the bugs of the
// window that the public may see: a restricted bug takes no part, since
// the figures of a tree could tell that it concerns one.
func reactions(s *Snapshot, in Input, all []config.Tree, byName map[string]*Tree) {
	weeks := max(1, (in.Days+6)/7)
	start := in.Now.Add(-time.Duration(weeks) * 7 * 24 * time.Hour)
	type samples [3][][]time.Duration // action, week, durations
	per := make(map[string]*samples, len(all))
	for _, t := range all {
		sm := &samples{}
		for a := range sm {
			sm[a] = make([][]time.Duration, weeks)
		}
		per[strings.ToLower(t.Name)] = sm
	}
	for i := range in.Bugs {
		bt := &in.Bugs[i]
		if c := bt.Bug.CreationTime; c.Before(start) || !c.Before(in.Now) {
			continue
		}
		// a bug the page may not show takes no part in any figure
		f, full := in.Policy.See(&bt.Bug, public, policy.Describe).Full()
		if !full {
			continue
		}
		b, matched := f.Bug(), f.Trees()
		w := int(b.CreationTime.Sub(start) / (7 * 24 * time.Hour))
		for _, t := range matched {
			sm := per[strings.ToLower(t.Name)]
			if sm == nil {
				continue
			}
			if !bt.Announced.IsZero() && (in.CatchUp == nil || !in.CatchUp(b.ID)) {
				sm[0][w] = append(sm[0][w], since(b.CreationTime, bt.Announced))
			}
			if !bt.Claimed.IsZero() {
				sm[1][w] = append(sm[1][w], since(b.CreationTime, bt.Claimed))
			}
			if at, ok := firstCC(bt.CC, t.Bugzilla); ok {
				sm[2][w] = append(sm[2][w], since(b.CreationTime, at))
			}
		}
	}
	for _, t := range all {
		pt := byName[strings.ToLower(t.Name)]
		sm := per[strings.ToLower(t.Name)]
		for a, act := range actions {
			se := Series{Action: act.action, Label: act.label}
			var whole []time.Duration
			for w := 0; w < weeks; w++ {
				ds := sm[a][w]
				wk := Week{Start: start.Add(time.Duration(w) * 7 * 24 * time.Hour), N: len(ds)}
				wk.Median, wk.P90 = quantile.Of(ds)
				se.Weeks = append(se.Weeks, wk)
				whole = append(whole, ds...)
			}
			se.N = len(whole)
			se.Median, se.P90 = quantile.Of(whole)
			pt.Reaction = append(pt.Reaction, se)
		}
	}
}

// since is the reaction time from created to at, never negative (clocks
// of Bugzilla and ksecbot may differ by seconds).
func since(created, at time.Time) time.Duration { return max(at.Sub(created), 0) }

// firstCC returns the earliest moment one of the logins appeared in CC.
func firstCC(cc map[string]time.Time, logins []string) (time.Time, bool) {
	var first time.Time
	for got, at := range cc {
		for _, l := range logins {
			if bugzilla.SameLogin(l, got) && (first.IsZero() || at.Before(first)) {
				first = at
			}
		}
	}
	return first, !first.IsZero()
}
