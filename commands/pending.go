// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/store"
)

// pendingCap is how many bug lines !pending shows in a channel: the
// configured cap where lines are costly (chat.Channel.Terse), more where
// one message holds many lines.
func (r *Router) pendingCap(ch chat.Channel) int {
	if ch.Terse {
		return r.pendCap
	}
	return max(r.pendCap, richPendingLines)
}

// loginVariants returns the logins plus their local parts, for matching
// mirrored values that anonymous Bugzilla shortened.
func loginVariants(logins ...string) []string {
	var out []string
	for _, l := range logins {
		if l == "" {
			continue
		}
		if !hasString(out, l) {
			out = append(out, l)
		}
		if local, _, ok := strings.Cut(l, "@"); ok && local != "" && !hasString(out, local) {
			out = append(out, local)
		}
	}
	return out
}

// cmdPending implements !pending [tree], from the mirror only.
func (r *Router) cmdPending(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) > 1 {
		return []chat.Line{r.usageLine("pending")}
	}
	if r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("The bug mirror is not available; try again later.")}
	}
	// Only the first lines are shown: the mirror need not decode the rest
	// (total still counts them all).
	f := store.BugFilter{OpenOnly: true, Limit: richPendingLines}
	// The same query as a Bugzilla search, for "and N more".
	search := url.Values{"query_format": {"advanced"}, "resolution": {"---"}}
	for _, w := range r.watches() {
		f.Products = append(f.Products, w.Product)
		f.Components = append(f.Components, w.Component)
		search.Add("product", w.Product)
		search.Add("component", w.Component)
	}
	what := "unclaimed"
	if len(req.Args) == 1 {
		t, ok := r.d.Trees.Lookup(req.Args[0])
		if !ok {
			return []chat.Line{chat.Line{}.Text("I know no tree ").Code(cleanShort(req.Args[0])).Text("; see " + r.prefix + "trees.")}
		}
		if len(t.Bugzilla) == 0 {
			return []chat.Line{chat.Line{}.Text("Tree " + t.Name + " lists no Bugzilla login, so I cannot tell which bugs it is CC'd on.")}
		}
		f.NotCC = loginVariants(t.Bugzilla...)
		what = "without " + t.Name + " in CC"
		for i, l := range t.Bugzilla {
			n := strconv.Itoa(i + 1)
			search.Set("f"+n, "cc")
			search.Set("o"+n, "notequals")
			search.Set("v"+n, l)
		}
	} else {
		var defs []string
		for _, w := range r.watches() {
			defs = append(defs, r.defaultAssignee(ctx, w.Product, w.Component))
		}
		f.AssignedTo = loginVariants(defs...)
		search.Set("j_top", "OR")
		for i, d := range defs {
			n := strconv.Itoa(i + 1)
			search.Set("f"+n, "assigned_to")
			search.Set("o"+n, "equals")
			search.Set("v"+n, d)
		}
		if len(f.AssignedTo) == 0 {
			return []chat.Line{chat.Line{}.Text("I do not know the component's default assignee yet, so I cannot tell what is unclaimed; the operator can set bugzilla.default_assignee.")}
		}
	}
	bugs, total, err := r.d.Store.Bugs(ctx, f)
	if err != nil {
		r.log.Error("failed to list pending bugs", "err", err)
		return []chat.Line{chat.Line{}.Text("Could not read the bug mirror; try again later.")}
	}
	if total == 0 || len(bugs) == 0 {
		return []chat.Line{chat.Line{}.Text("No open kernel security bugs " + what + ".")}
	}
	limit := r.pendingCap(req.In.Channel)
	now := r.now()
	var lines []chat.Line
	for i := range bugs {
		if i == limit {
			break
		}
		l := r.pendingLine(&bugs[i], req.In.Channel, now)
		if len(req.Args) == 1 {
			l = r.cveMarker(l, &bugs[i], req.In.Channel, req.Args[0])
		}
		lines = append(lines, l)
	}
	if total > len(lines) {
		lines = append(lines, chat.Line{}.Text(fmt.Sprintf("and %d more: ", total-len(lines))).Link("", r.d.Render.SearchURL(search)))
	}
	return lines
}

// pendingLine is one !pending line: id, age, severity, summary.
func (r *Router) pendingLine(b *bugzilla.Bug, ch chat.Channel, now time.Time) chat.Line {
	age := announce.Age(now.Sub(b.CreationTime))
	l := chat.Line{}.Bold(fmt.Sprintf("Bug %d", b.ID))
	if !announce.Visible(b, ch) {
		return l.Text(" (" + age + "): restricted, details withheld")
	}
	l = l.Text(" (" + age)
	if b.Severity != "" {
		l = l.Text(", " + announce.Clean(b.Severity, 40))
	}
	if g := announce.Grade(b.Whiteboard); g != "" {
		l = l.Text(", " + g)
	}
	return l.Text("): ").Quote(announce.Clean(b.Summary, 160))
}
