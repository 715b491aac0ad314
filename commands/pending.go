// SPDX-License-Identifier: GPL-3.0-or-later

package commands

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ksecbot/ksecbot/announce"
	"github.com/ksecbot/ksecbot/bugzilla"
	"github.com/ksecbot/ksecbot/chat"
	"github.com/ksecbot/ksecbot/policy"
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

// cmdPending implements !pending [tree], from the mirror only: the open
// bugs in the watches still with the component default, or with a tree,
// the open bugs that concern the tree (trees.Registry.Concerns, as
// highlights) and that it has neither claimed nor been CC'd on.
func (r *Router) cmdPending(ctx context.Context, req *Request) []chat.Line {
	if len(req.Args) > 1 {
		return []chat.Line{r.argError("pending", "give one tree at most, not "+strconv.Itoa(len(req.Args))+" words")}
	}
	if r.d.Store == nil {
		return []chat.Line{chat.Line{}.Text("The bug mirror is not available; try again later.")}
	}
	f, search := r.openInWatches()
	private := policy.Private(req.In.Channel)
	none, more := "No open kernel security bugs unclaimed.", ""
	if len(req.Args) == 1 {
		t, ok := r.d.Trees.Lookup(req.Args[0])
		if !ok {
			return []chat.Line{r.unknownTree(req.Args[0])}
		}
		if len(t.Bugzilla) == 0 {
			return []chat.Line{chat.Line{}.Text("Tree " + t.Name + " lists no Bugzilla login, so I cannot tell which bugs it has claimed or is CC'd on.")}
		}
		f.NotCC = loginVariants(t.Bugzilla...)
		ch := req.In.Channel
		f.Names = func(b *bugzilla.Bug) bool {
			if policy.Hidden(b, ch) {
				// Which trees a restricted bug names is withheld here, as
				// in its announcement: it is listed as naming none.
				return !t.Unsupported
			}
			return r.d.Trees.Concerns(b, t.Name)
		}
		none = "No open kernel security bug that concerns " + t.Name + " is waiting for it: " + t.Name + " has claimed or been CC'd on each."
		more = " (all open bugs without " + t.Name + " in CC: "
		n := 0
		for _, l := range t.Bugzilla {
			for _, field := range []string{"cc", "assigned_to"} {
				n++
				loginSearch(search, n, field, false, l, private)
			}
		}
	} else {
		// Still with the default of now or of when it was filed
		// (policy.Unclaimed, as windows of filing time per default).
		var defs []string
		for _, w := range r.watches() {
			for _, win := range policy.UnclaimedWindows(r.defaultsSeen(ctx, w.Name())) {
				f.AssignedWithin = append(f.AssignedWithin, store.AssignedWindow{Watch: w.Name(), Logins: loginVariants(win.Login), From: win.From, Until: win.Until})
				if !hasString(defs, win.Login) {
					defs = append(defs, win.Login)
				}
			}
		}
		search.Set("j_top", "OR")
		for i, d := range defs {
			loginSearch(search, i+1, "assigned_to", true, d, private)
		}
		if len(f.AssignedWithin) == 0 {
			return []chat.Line{chat.Line{}.Text("I do not know the component's default assignee yet, so I cannot tell what is unclaimed; the operator can set bugzilla.default_assignee.")}
		}
	}
	bugs, total, err := r.d.Store.Bugs(ctx, f)
	if err != nil {
		r.log.Error("failed to list pending bugs", "err", err)
		return []chat.Line{chat.Line{}.Text("Could not read the bug mirror; try again later.")}
	}
	if total == 0 || len(bugs) == 0 {
		return []chat.Line{chat.Line{}.Text(none)}
	}
	lines := r.bugLines(bugs, req.In.Channel)
	if len(req.Args) == 1 {
		for i := range lines {
			lines[i] = r.cveMarker(lines[i], &bugs[i], req.In.Channel, req.Args[0])
		}
	}
	return r.andMore(lines, total, search, more)
}

// openInWatches is the mirror filter of the open bugs in the watches (the
// first lines only: the mirror need not decode the rest, total still
// counts them all) and the same query as a Bugzilla search, for "and N
// more".
func (r *Router) openInWatches() (store.BugFilter, url.Values) {
	f := store.BugFilter{OpenOnly: true, Limit: richPendingLines}
	search := url.Values{"query_format": {"advanced"}, "resolution": {"---"}}
	for _, w := range r.watches() {
		f.Products = append(f.Products, w.Product)
		f.Components = append(f.Components, w.Component)
		search.Add("product", w.Product)
		search.Add("component", w.Component)
	}
	return f, search
}

// loginSearch adds term n of a Bugzilla search: field equals (or, equal
// false, does not equal) login. Public channels show no e-mail address,
// not even in a link: there the term matches the login name before the
// '@' (the name anonymous Bugzilla shows).
func loginSearch(q url.Values, n int, field string, equal bool, login string, private bool) {
	k := strconv.Itoa(n)
	op, v := "equals", login
	if local, _, ok := strings.Cut(login, "@"); ok && !private {
		op, v = "regexp", "^"+regexp.QuoteMeta(local)+"@"
	}
	if !equal {
		op = "not" + op
	}
	q.Set("f"+k, field)
	q.Set("o"+k, op)
	q.Set("v"+k, v)
}

// bugLines renders the first bugs of a list as !pending lines, as many as
// the channel shows.
func (r *Router) bugLines(bugs []bugzilla.Bug, ch chat.Channel) []chat.Line {
	limit := r.pendingCap(ch)
	now := r.now()
	var lines []chat.Line
	for i := range bugs {
		if i == limit {
			break
		}
		lines = append(lines, r.pendingLine(&bugs[i], ch, now))
	}
	return lines
}

// andMore ends a bug list of total bugs with "and N more: <search>" when
// lines do not show them all; label, if set, says what the search shows
// (" (all open bugs ...: ") when it is more than the list.
func (r *Router) andMore(lines []chat.Line, total int, search url.Values, label string) []chat.Line {
	if total <= len(lines) {
		return lines
	}
	l := chat.Line{}.Text(fmt.Sprintf("and %d more", total-len(lines)))
	if label == "" {
		return append(lines, l.Text(": ").Link("", r.d.Render.SearchURL(search)))
	}
	return append(lines, l.Text(label).Link("", r.d.Render.SearchURL(search)).Text(")"))
}

// pendingLine is one !pending line: id, age, severity, summary.
func (r *Router) pendingLine(bug *bugzilla.Bug, ch chat.Channel, now time.Time) chat.Line {
	age := announce.Age(now.Sub(bug.CreationTime))
	l := chat.Line{}.Bold(fmt.Sprintf("Bug %d", bug.ID))
	f, full := r.see(bug, ch).Full()
	if !full {
		return l.Text(" (" + age + "): restricted, details withheld")
	}
	b := f.Bug()
	l = l.Text(" (" + age)
	if b.Severity != "" {
		l = l.Text(", " + announce.Clean(b.Severity, 40))
	}
	if g := announce.Grade(b.Whiteboard); g != "" {
		l = l.Text(", " + g)
	}
	return l.Text("): ").Quote(announce.Clean(b.Summary, 160))
}
